"""Webhook building blocks: Standard Webhooks signatures, the SSRF guard, the retry policy."""

import ipaddress
import json
import multiprocessing
import random
import socket
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from workers.webhooks.retry_policy import Outcome, RetryPolicy, classify
from workers.webhooks.signing import new_message_id, new_secret, sign, signed_headers
from workers.webhooks.url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url


def test_signatures_verify_with_the_standardwebhooks_library():
    secret = new_secret()
    body = json.dumps({"type": "job.completed", "data": {"id": "j1", "text": "Hej från Umeå"}}, ensure_ascii=False).encode()
    headers = signed_headers(secret, new_message_id(), int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["data"]["text"] == "Hej från Umeå"


def test_a_tampered_body_or_another_secret_fails_verification():
    secret, message_id, now = new_secret(), new_message_id(), int(time.time())
    headers = signed_headers(secret, message_id, now, b'{"a": 1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a": 2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"a": 1}', headers)


def test_the_signature_is_the_specs_example():
    # The example of the Standard Webhooks specification: the same bytes give the same value.
    body = b'{"test": 2432232314}'
    headers = signed_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek" and headers["webhook-timestamp"] == "1614265330"


def test_secrets_and_ids_have_the_standard_shape():
    assert new_secret().startswith("whsec_") and new_secret() != new_secret()
    assert new_message_id().startswith("msg_")
    with pytest.raises(ValueError, match="whsec_"):
        sign("not-a-secret", "msg_1", 1, b"{}")
    with pytest.raises(ValueError):
        sign("whsec_not base64!", "msg_1", 1, b"{}")


def fake_resolver(*addresses):
    def resolve(host, port, type=None):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.5", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("::ffff:100.64.1.1", "carrier-grade NAT"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a00:1::", "private"),
        ("fec0::1", "site-local"),
        ("240.0.0.1", "private|reserved"),
        ("192.0.2.10", "private"),
        ("198.18.0.1", "private"),
        ("64:ff9b::a00:1", "private|reserved"),
    ],
)
def test_internal_targets_are_refused(address, kind):
    with pytest.raises(UnsafeWebhookUrl, match=kind):
        check_webhook_url("https://case.example/hook", resolve=fake_resolver(address))


def test_every_refused_address_is_not_globally_routable():
    # The catch-all: whatever has no name of its own is still refused when it is not global.
    from workers.webhooks.url_guard import _forbidden

    assert _forbidden(ipaddress.ip_address("192.88.99.1")) is None, "6to4 relay anycast is global"
    for network in ("100.64.0.0/10", "192.0.0.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"):
        address = ipaddress.ip_network(network)[1]
        assert _forbidden(address) is not None, address


def test_allowing_private_targets_allows_carrier_grade_nat_too():
    allowed = UrlPolicy(allow_private=True)
    assert check_webhook_url("https://case.example/hook", allowed, resolve=fake_resolver("100.64.0.1")) == ["100.64.0.1"]


def test_one_internal_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(UnsafeWebhookUrl, match="10.0.0.7"):
        check_webhook_url("https://case.example/hook", resolve=fake_resolver("93.184.215.14", "10.0.0.7"))


def test_public_targets_pass_and_the_operator_can_allow_private_ones():
    assert check_webhook_url("https://case.example/hook", resolve=fake_resolver("93.184.215.14")) == ["93.184.215.14"]
    both = fake_resolver("2606:4700::1111", "93.184.215.14", "2606:4700::1111")
    assert check_webhook_url("https://case.example/hook", resolve=both) == ["2606:4700::1111", "93.184.215.14"], (
        "the resolver's order of preference, once each"
    )
    allowed = UrlPolicy(allow_private=True)
    assert check_webhook_url("http://127.0.0.1:9000/hook", allowed) == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://case.example/x", "http or https"),
        ("https:///nohost", "no host"),
        ("https://u:p@case.example/", "credentials"),
        ("javascript:alert(1)", "http or https"),
    ],
)
def test_malformed_urls_are_refused(url, reason):
    with pytest.raises(UnsafeWebhookUrl, match=reason):
        check_webhook_url(url, resolve=fake_resolver("93.184.215.14"))


def test_https_only_when_required():
    with pytest.raises(UnsafeWebhookUrl, match="must be https"):
        check_webhook_url("http://case.example/", UrlPolicy(allow_http=False), resolve=fake_resolver("93.184.215.14"))


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeWebhookUrl, match="does not resolve"):
        check_webhook_url("https://no-such-host.invalid/hook")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.delivered),
        (204, Outcome.delivered),
        (None, Outcome.retry),
        (429, Outcome.retry),
        (500, Outcome.retry),
        (503, Outcome.retry),
        (400, Outcome.failed),
        (404, Outcome.failed),
        (301, Outcome.failed),
        (410, Outcome.endpoint_gone),
    ],
)
def test_outcomes(status, outcome):
    assert classify(status) == outcome


def test_backoff_grows_with_jitter_and_gives_up_after_a_day():
    policy, rng = RetryPolicy(), random.Random(7)
    delays = [policy.next_delay_s(n, age_s=0, rng=rng) for n in range(1, 16)]
    assert all(d is not None for d in delays)
    for n, delay in enumerate(delays, start=1):
        bound = min(policy.max_delay_s, policy.first_delay_s * 2 ** (n - 1))
        assert bound / 2 <= delay <= bound
    assert len({round(d, 6) for d in delays[:8]}) == 8, "jittered, not a fixed ladder"
    assert policy.next_delay_s(20, age_s=24 * 3600 - 1, rng=rng) is None


def _draw_jitter(results):
    results.put([RetryPolicy().next_delay_s(10, age_s=0) for _ in range(3)])


def test_forked_processes_draw_different_jitter_by_default():
    # Celery forks its pool from one parent: a generator seeded before the fork would hand
    # every child the same sequence.
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    children = [fork.Process(target=_draw_jitter, args=(results,)) for _ in range(2)]
    for child in children:
        child.start()
    first, second = (results.get(timeout=30) for _ in children)
    for child in children:
        child.join(timeout=30)
    assert first != second and len(set(first)) == 3


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://case.example:99999/hook", "invalid port"),
        ("https://case.example:0/hook", "invalid port"),
        ("https://case.example:abc/hook", "cannot be parsed"),
        ("https://[1.1.1.1]/hook", "cannot be parsed"),
        ("https://case.example/hook\nX-Injected: 1", "whitespace or control"),
        ("https://case.example/ho\rok", "whitespace or control"),
        ("https://case.example/\x00", "whitespace or control"),
        ("https://case .example/hook", "whitespace or control"),
        ("https://case.example/\u2028", "whitespace or control"),
    ],
)
def test_malformed_urls_are_refused_by_the_parser_the_sender_uses(url, reason):
    with pytest.raises(UnsafeWebhookUrl, match=reason):
        check_webhook_url(url, resolve=fake_resolver("93.184.215.14"))


def test_a_stored_malformed_url_gives_a_refused_attempt_not_a_crash():
    from workers.webhooks.sender import send

    result = send(
        "https://case.example/hook\n",
        new_secret(),
        new_message_id(),
        b"{}",
        UrlPolicy(),
        1.0,
        resolve=fake_resolver("93.184.215.14"),
    )
    assert result.refused and result.status_code is None and "control" in result.error
