"""Delivering webhooks to a real HTTP receiver on 127.0.0.1, records in a real database.

Every receiver verifies every request's signature with the `standardwebhooks` library, as a
case-handling system would; `signed()` checks that none failed."""

from __future__ import annotations

import json
import multiprocessing
import random
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from tests.integration.stack import scratch_database
from tests.webhook_receiver import Trickle, WebhookReceiver
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import WebhookDelivery, as_utc, forget_engines_after_fork, get_engine, new_id, session_factory
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage
from workers.webhooks import store
from workers.webhooks.delivery import DeliveryOptions, deliver_once
from workers.webhooks.notify import notify_job_finished
from workers.webhooks.retry_policy import RetryPolicy
from workers.webhooks.sender import send
from workers.webhooks.signing import new_secret
from workers.webhooks.url_guard import UrlPolicy

LOCAL = DeliveryOptions(
    url_policy=UrlPolicy(allow_private=True), retry=RetryPolicy(first_delay_s=0.01, max_delay_s=0.02), timeout_s=2
)


@pytest.fixture
def database_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture
def sessions(database_url):
    return session_factory(database_url)


@pytest.fixture
def receiver():
    """receiver(answers, host=..., port=...): receivers closed after the test."""
    made: list[WebhookReceiver] = []

    def make(answers: list, **options) -> WebhookReceiver:
        made.append(WebhookReceiver(answers, **options))
        return made[-1]

    yield make
    for r in made:
        r.close()


def new_delivery(sessions, receiver, default=True, job_id="j1", url=None):
    """A job.completed delivery to `receiver`, which verifies with the endpoint's secret."""
    url = url or receiver.url
    endpoint, _ = store.set_endpoint(sessions, "k1", url if default else None)
    receiver.secret = endpoint.secret
    payload = json.dumps({"type": "job.completed", "data": {"id": job_id, "text": "Hej från Visby"}}, ensure_ascii=False)
    delivery_id = store.create_delivery(
        sessions, job_id=job_id, owner="k1", event="job.completed", url=url, payload=payload, to_default_endpoint=default
    )
    return delivery_id, endpoint.secret


def signed(receiver) -> list[dict]:
    """The events the receiver got, each of which verified against the endpoint's secret."""
    assert receiver.failures == [], "every delivery verifies with standardwebhooks"
    assert len(receiver.verified) == len(receiver.received)
    return receiver.verified


def status_of(sessions, delivery_id, job_id="j1") -> str:
    return next(d.status for d, _ in store.for_job(sessions, job_id) if d.id == delivery_id)


def drive(sessions, delivery_id, options=LOCAL, timeout_s=30, job_id="j1"):
    """Attempt the delivery whenever it is due, as the sweeper would, until it is settled."""
    deadline = time.monotonic() + timeout_s
    while status_of(sessions, delivery_id, job_id) == "pending":
        assert time.monotonic() < deadline, "delivery never settled"
        deliver_once(sessions, delivery_id, options, random.Random(1))
        time.sleep(0.01)


def test_delivered_once_signed_and_recorded(sessions, receiver):
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    (event,) = signed(receiver)
    assert event["data"]["text"] == "Hej från Visby"
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and [a.status_code for a in attempts] == [200]
    assert attempts[0].latency_ms >= 0 and deliver_once(sessions, delivery_id, LOCAL) is None, "not sent twice"


def test_a_wrong_secret_is_caught_by_the_receiver(sessions, receiver):
    # The receiver's check itself must be able to fail, or the other tests prove nothing.
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver)
    receiver.secret = store.set_endpoint(sessions, "other-key", None)[0].secret
    drive(sessions, delivery_id)
    assert len(receiver.failures) == 1 and receiver.verified == []


def test_500_then_200_retries_with_the_same_webhook_id(sessions, receiver):
    receiver = receiver([500, 503, 429, 200])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    ids = {h["webhook-id"] for h, _ in receiver.received}
    assert len(signed(receiver)) == 4 and len(ids) == 1
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and [a.status_code for a in attempts] == [500, 503, 429, 200]


def test_a_receiver_that_is_down_then_back_gets_it(sessions, receiver):
    down = receiver([])
    url, port = down.url, down.port
    down.close()  # down: connections refused
    delivery_id, secret = new_delivery(sessions, down, url=url)
    assert deliver_once(sessions, delivery_id, LOCAL) is not None
    back = receiver([200], port=port)
    back.secret = secret
    drive(sessions, delivery_id)
    assert len(signed(back)) == 1
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and attempts[0].status_code is None and "ConnectError" in attempts[0].error


def test_a_slow_receiver_times_out_and_is_retried(sessions, receiver):
    receiver = receiver([3.0, 200])
    delivery_id, _ = new_delivery(sessions, receiver)
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=LOCAL.retry, timeout_s=0.5)
    drive(sessions, delivery_id, options)
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and "Timeout" in attempts[0].error and attempts[-1].status_code == 200
    assert len(signed(receiver)) == 2


def test_a_receiver_trickling_its_headers_is_cut_off_at_the_deadline(sessions, receiver):
    # A byte every 0.1 s never trips a per-read timeout of 1 s; only a total deadline ends it.
    receiver = receiver([Trickle(interval_s=0.1, total_s=4.0, part="headers"), 200])
    delivery_id, _ = new_delivery(sessions, receiver)
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=LOCAL.retry, timeout_s=1.0)
    started = time.monotonic()
    assert deliver_once(sessions, delivery_id, options, random.Random(1)) is not None, "to be retried"
    assert time.monotonic() - started < 2.0, "held past the 1 s deadline"
    drive(sessions, delivery_id, options)
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert "ReadTimeout" in attempts[0].error and attempts[0].latency_ms < 2000
    assert delivery.status == "delivered" and len(signed(receiver)) == 2


def test_a_trickled_body_does_not_hold_the_worker(sessions, receiver):
    # The status is the answer; a body sent a byte at a time is not waited for.
    receiver = receiver([Trickle(interval_s=0.1, total_s=4.0, part="body")])
    delivery_id, _ = new_delivery(sessions, receiver)
    started = time.monotonic()
    drive(sessions, delivery_id, DeliveryOptions(url_policy=LOCAL.url_policy, retry=LOCAL.retry, timeout_s=1.0))
    assert time.monotonic() - started < 2.0
    assert status_of(sessions, delivery_id) == "delivered" and len(signed(receiver)) == 1


@pytest.mark.parametrize(("answer", "status"), [(400, "failed"), (404, "failed"), (302, "failed")])
def test_other_4xx_and_redirects_fail_at_once(sessions, receiver, answer, status):
    receiver = receiver([answer])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    assert len(signed(receiver)) == 1, "no retry, no redirect followed"
    ((delivery, _),) = store.for_job(sessions, "j1")
    assert delivery.status == status


def test_410_disables_the_default_endpoint(sessions, receiver):
    receiver = receiver([410])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    assert store.get_endpoint(sessions, "k1").disabled_at is not None
    second = store.create_delivery(
        sessions, job_id="j1", owner="k1", event="job.failed", url=receiver.url, payload="{}", to_default_endpoint=True
    )
    drive(sessions, second)
    assert len(signed(receiver)) == 1, "nothing more goes to a disabled endpoint"


def test_410_from_a_job_url_ends_that_delivery_and_those_waiting_for_the_url(sessions, receiver):
    gone = receiver([410])
    first, _ = new_delivery(sessions, gone, default=False, job_id="j1")
    waiting, _ = new_delivery(sessions, gone, default=False, job_id="j2")
    elsewhere = receiver([200])
    other, _ = new_delivery(sessions, elsewhere, default=False, job_id="j3")
    drive(sessions, first)
    assert status_of(sessions, first) == "endpoint_gone"
    assert deliver_once(sessions, first, LOCAL) is None, "not retried"
    assert status_of(sessions, waiting, "j2") == "endpoint_gone", "ended without being sent"
    assert len(signed(gone)) == 1
    drive(sessions, other, job_id="j3")
    assert status_of(sessions, other, "j3") == "delivered", "other URLs are untouched"
    assert store.get_endpoint(sessions, "k1").disabled_at is None, "the key's default URL is another one"
    # A job uploaded later that names the URL again is the client asking for it again: sent.
    later, _ = new_delivery(sessions, gone, default=False, job_id="j4")
    drive(sessions, later, job_id="j4")
    assert len(signed(gone)) == 2


def test_gives_up_after_the_retry_window(sessions, receiver):
    receiver = receiver([500] * 50)
    delivery_id, _ = new_delivery(sessions, receiver)
    options = DeliveryOptions(
        url_policy=LOCAL.url_policy, retry=RetryPolicy(first_delay_s=0.05, max_delay_s=0.1, give_up_after_s=0.5), timeout_s=2
    )
    drive(sessions, delivery_id, options)
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "abandoned" and 2 <= len(attempts) < 50
    assert len(signed(receiver)) == len(attempts)


def test_private_targets_are_refused_unless_allowed(sessions, receiver):
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id, DeliveryOptions())
    assert receiver.received == []
    ((delivery, attempts),) = store.for_job(sessions, "j1")
    assert delivery.status == "failed" and "loopback" in attempts[0].error


def test_redeliver_sends_again_with_the_same_id_and_keeps_the_event_time(sessions, receiver):
    receiver = receiver([200, 200])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    ((before, _),) = store.for_job(sessions, "j1")
    assert before.redelivered_at is None
    time.sleep(0.05)
    assert store.redeliver(sessions, "j1") == [delivery_id]
    drive(sessions, delivery_id)
    first, second = signed(receiver)
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]
    ((after, attempts),) = store.for_job(sessions, "j1")
    assert after.created_at == before.created_at, "the listing keeps the original time"
    assert after.redelivered_at > after.created_at and len(attempts) == 2


def test_a_redelivery_gets_a_fresh_retry_window(sessions, receiver):
    # A delivery from two days ago, asked for again: a 500 now is retried, not abandoned.
    receiver = receiver([200, 500])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    with sessions() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.created_at = delivery.created_at - timedelta(days=2)
        session.commit()
    store.redeliver(sessions, "j1")
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=RetryPolicy(give_up_after_s=3600), timeout_s=2)
    assert deliver_once(sessions, delivery_id, options) is not None
    assert status_of(sessions, delivery_id) == "pending"


def _first_retry_delay(database_url, delivery_id, options, results):
    # What a Celery pool process does: forked from the parent, fresh database pools, default jitter.
    forget_engines_after_fork()
    results.put(deliver_once(session_factory(database_url), delivery_id, options))


def test_forked_workers_draw_different_jitter(database_url, sessions, receiver):
    receiver = receiver([500, 500])
    ids = [new_delivery(sessions, receiver, job_id=job_id)[0] for job_id in ("j1", "j2")]
    # Bounds 500-1000 s: two equal draws would mean the processes share one generator's state.
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=RetryPolicy(first_delay_s=1000, max_delay_s=1000), timeout_s=5)
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    children = [fork.Process(target=_first_retry_delay, args=(database_url, i, options, results)) for i in ids]
    for child in children:
        child.start()
    delays = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    assert all(500 <= d <= 1000 for d in delays) and delays[0] != delays[1]
    assert len(signed(receiver)) == 2


def test_deleting_the_job_deletes_its_deliveries(sessions, receiver):
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver)
    drive(sessions, delivery_id)
    store.delete_for_job(sessions, "j1")
    assert store.for_job(sessions, "j1") == []


def rebinding_resolver(first: str, later: str):
    """getaddrinfo for a name that answers `first` to the first lookup and `later` after it
    (DNS rebinding); other names resolve as usual."""
    real, lookups = socket.getaddrinfo, []

    def resolve(host, port, *args, **kwargs):
        if host != "case.example":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = first if len(lookups) == 1 else later
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


def test_the_connection_goes_to_the_address_that_was_checked(receiver, monkeypatch):
    checked = receiver([200], host="127.0.0.2")
    rebound = receiver([200], port=checked.port)  # 127.0.0.1, same port
    checked.secret = rebound.secret = secret = new_secret()
    resolve = rebinding_resolver("127.0.0.2", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolve)  # any second lookup would see 127.0.0.1
    result = send(f"http://case.example:{checked.port}/hook", secret, "msg_1", b'{"a": 1}', LOCAL.url_policy, 2, resolve)
    assert result.status_code == 200 and rebound.received == []
    assert len(signed(checked)) == 1 and checked.received[0][0]["host"] == f"case.example:{checked.port}"


def test_a_public_answer_at_check_time_never_reaches_loopback(receiver, monkeypatch):
    inside = receiver([200])
    resolve = rebinding_resolver("93.184.215.14", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    url = f"http://case.example:{inside.port}/hook"
    # Guard on (no private targets): the checked public address is dialled, whatever it answers.
    send(url, new_secret(), "msg_1", b"{}", UrlPolicy(), 0.5, resolve)
    assert inside.received == []


def _certificate(name: str, folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for `name` signed by it: (ca, cert, key) PEM files."""

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def build(subject, issuer, public_key, signer, *, ca: bool, san: str | None = None):
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    server = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, server_key.public_key(), ca_key, ca=False, san=name
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.mark.parametrize(("certificate_for", "verifies"), [("case.example", True), ("other.example", False)])
def test_tls_is_checked_against_the_url_host_name_not_the_address(receiver, monkeypatch, tmp_path, certificate_for, verifies):
    ca, cert, key = _certificate(certificate_for, tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    hook = receiver([200], tls=server_tls)
    hook.secret = new_secret()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # trust the test CA, as an operator's internal CA
    resolve = rebinding_resolver("127.0.0.1", "127.0.0.1")
    result = send(f"https://case.example:{hook.port}/hook", hook.secret, "msg_1", b"{}", LOCAL.url_policy, 5, resolve)
    if verifies:
        assert result.status_code == 200 and len(signed(hook)) == 1
        assert hook.server_names == ["case.example"], "SNI names the host, not 127.0.0.1"
    else:
        assert result.status_code is None and "CERTIFICATE_VERIFY_FAILED" in result.error and hook.received == []


def finished_job(sessions, storage, transcript: dict) -> str:
    job_id = new_id()
    jobs.create_job(
        sessions,
        jobs.NewJob(
            owner="k1",
            filename="förhör.wav",
            audio_key=f"jobs/{job_id}/audio.wav",
            audio_sha256="0" * 64,
            audio_size_bytes=10,
            duration_s=4.0,
            options={},
        ),
        job_id,
    )
    key = jobs.transcript_key(job_id)
    storage.save_bytes(key, json.dumps(transcript, ensure_ascii=False).encode("utf-8"))
    jobs.complete_job(sessions, job_id, key, 4.0, {})
    return job_id


def test_a_transcript_too_big_to_inline_is_sent_as_links_only(sessions, receiver, tmp_path):
    hook = receiver([])
    hook.secret = store.set_endpoint(sessions, "k1", hook.url)[0].secret
    settings = Settings(
        _env_file=None, data_dir=tmp_path, webhook_inline_transcript_max_kb=1, public_base_url="https://stt.example.se/"
    )
    storage = LocalStorage(tmp_path / "storage")
    small = {"text": "Hej från Visby.", "segments": []}
    big = {"text": " ".join(["Det här är ett långt förhör i Norrköping."] * 60), "segments": []}  # > 1 KiB in UTF-8
    assert len(json.dumps(big, ensure_ascii=False).encode()) > 1024
    for transcript in (small, big):
        job_id = finished_job(sessions, storage, transcript)
        notify_job_finished(sessions, storage, settings, job_id, enqueue=lambda i: deliver_once(sessions, i, LOCAL))
    inlined, linked = (event["data"] for event in signed(hook))
    assert inlined["transcript_inline"] is True and inlined["transcript"]["text"] == small["text"]
    assert linked["transcript_inline"] is False and linked["transcript"] is None
    assert linked["links"]["transcript"] == f"https://stt.example.se/v1/jobs/{linked['id']}/transcript?format=json"
    assert len(hook.received[1][1]) < 1024, "the body carries links, not the transcript"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_redelivered_at_migration_keeps_existing_deliveries(tmp_path, kind):
    with scratch_database(kind, tmp_path) as url:
        upgrade(url, "0003")
        created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        with get_engine(url).begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, message_id, job_id, owner, event, url, to_default_endpoint, payload, status, attempts, created_at)"
                    " VALUES ('d1', 'msg_1', 'j1', 'k1', 'job.completed', 'https://case.example/hook', :yes, '{}', 'delivered', 1, :created)"
                ),
                {"yes": True, "created": created},
            )
        upgrade(url)
        sessions = session_factory(url)
        ((delivery, _),) = store.for_job(sessions, "j1")
        assert (delivery.message_id, delivery.status, delivery.redelivered_at) == ("msg_1", "delivered", None)
        assert as_utc(delivery.created_at) == created
        store.redeliver(sessions, "j1")
        ((again, _),) = store.for_job(sessions, "j1")
        assert as_utc(again.created_at) == created and again.redelivered_at is not None and again.status == "pending"
