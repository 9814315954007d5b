"""Delivering webhooks to a real HTTP receiver on 127.0.0.1, records in a real database."""

from __future__ import annotations

import http.server
import json
import random
import threading
import time

import pytest
from standardwebhooks import Webhook

from tests.webhook_receiver import WebhookReceiver
from workers.db import session_factory
from workers.migrate import upgrade
from workers.webhooks import store
from workers.webhooks.delivery import DeliveryOptions, deliver_once
from workers.webhooks.retry_policy import RetryPolicy
from workers.webhooks.url_guard import UrlPolicy

LOCAL = DeliveryOptions(url_policy=UrlPolicy(allow_private=True), retry=RetryPolicy(first_delay_s=0.01, max_delay_s=0.02), timeout_s=2)


@pytest.fixture
def sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    return session_factory(url)


def new_delivery(sessions, url, default=True):
    endpoint, _ = store.set_endpoint(sessions, "k1", url if default else None)
    payload = json.dumps({"type": "job.completed", "data": {"id": "j1", "text": "Hej från Visby"}}, ensure_ascii=False)
    delivery_id = store.create_delivery(sessions, job_id="j1", owner="k1", event="job.completed", url=url, payload=payload,
                                        to_default_endpoint=default)
    return delivery_id, endpoint.secret


def status_of(sessions, delivery_id) -> str:
    return next(d.status for d, _ in store.for_job(sessions, "j1") if d.id == delivery_id)


def drive(sessions, delivery_id, options=LOCAL, timeout_s=30):
    """Attempt the delivery whenever it is due, as the sweeper would, until it is settled."""
    deadline = time.monotonic() + timeout_s
    while status_of(sessions, delivery_id) == "pending":
        assert time.monotonic() < deadline, "delivery never settled"
        deliver_once(sessions, delivery_id, options, random.Random(1))
        time.sleep(0.01)


def test_delivered_once_signed_and_recorded(sessions, receiver):
    receiver = receiver([200])
    delivery_id, secret = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    (headers, body), = receiver.received
    assert Webhook(secret).verify(body, headers)["data"]["text"] == "Hej från Visby"
    (delivery, attempts), = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and [a.status_code for a in attempts] == [200]
    assert attempts[0].latency_ms >= 0 and deliver_once(sessions, delivery_id, LOCAL) is None, "not sent twice"


def test_500_then_200_retries_with_the_same_webhook_id(sessions, receiver):
    receiver = receiver([500, 503, 429, 200])
    delivery_id, secret = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    ids = {h["webhook-id"] for h, _ in receiver.received}
    assert len(receiver.received) == 4 and len(ids) == 1
    assert all(Webhook(secret).verify(b, h) for h, b in receiver.received)
    (delivery, attempts), = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and [a.status_code for a in attempts] == [500, 503, 429, 200]


def test_a_receiver_that_is_down_then_back_gets_it(sessions, receiver):
    receiver = receiver([])
    url = receiver.url
    receiver.close()  # down: connections refused
    delivery_id, _ = new_delivery(sessions, url)
    assert deliver_once(sessions, delivery_id, LOCAL) is not None
    port = int(url.split(":")[2].split("/")[0])
    back = WebhookReceiver([200])
    back.server.server_close()
    back.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), back.server.RequestHandlerClass)
    threading.Thread(target=back.server.serve_forever, daemon=True).start()
    try:
        drive(sessions, delivery_id)
        assert len(back.received) == 1
        (delivery, attempts), = store.for_job(sessions, "j1")
        assert delivery.status == "delivered" and attempts[0].status_code is None and "ConnectError" in attempts[0].error
    finally:
        back.close()


def test_a_slow_receiver_times_out_and_is_retried(sessions, receiver):
    receiver = receiver([3.0, 200])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=LOCAL.retry, timeout_s=0.5)
    drive(sessions, delivery_id, options)
    (delivery, attempts), = store.for_job(sessions, "j1")
    assert delivery.status == "delivered" and "Timeout" in attempts[0].error and attempts[-1].status_code == 200


@pytest.mark.parametrize(("answer", "status"), [(400, "failed"), (404, "failed"), (302, "failed")])
def test_other_4xx_and_redirects_fail_at_once(sessions, receiver, answer, status):
    receiver = receiver([answer])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    assert len(receiver.received) == 1, "no retry, no redirect followed"
    (delivery, _), = store.for_job(sessions, "j1")
    assert delivery.status == status


def test_410_disables_the_default_endpoint(sessions, receiver):
    receiver = receiver([410])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    assert store.get_endpoint(sessions, "k1").disabled_at is not None
    second = store.create_delivery(sessions, job_id="j1", owner="k1", event="job.failed", url=receiver.url, payload="{}", to_default_endpoint=True)
    drive(sessions, second)
    assert len(receiver.received) == 1, "nothing more goes to a disabled endpoint"


def test_gives_up_after_the_retry_window(sessions, receiver):
    receiver = receiver([500] * 50)
    delivery_id, _ = new_delivery(sessions, receiver.url)
    options = DeliveryOptions(url_policy=LOCAL.url_policy, retry=RetryPolicy(first_delay_s=0.05, max_delay_s=0.1, give_up_after_s=0.5), timeout_s=2)
    drive(sessions, delivery_id, options)
    (delivery, attempts), = store.for_job(sessions, "j1")
    assert delivery.status == "abandoned" and 2 <= len(attempts) < 50


def test_private_targets_are_refused_unless_allowed(sessions, receiver):
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id, DeliveryOptions())
    assert receiver.received == []
    (delivery, attempts), = store.for_job(sessions, "j1")
    assert delivery.status == "failed" and "loopback" in attempts[0].error


def test_redeliver_sends_again_with_the_same_id(sessions, receiver):
    receiver = receiver([200, 200])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    assert store.redeliver(sessions, "j1") == [delivery_id]
    drive(sessions, delivery_id)
    assert len(receiver.received) == 2 and receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]


def test_deleting_the_job_deletes_its_deliveries(sessions, receiver):
    receiver = receiver([200])
    delivery_id, _ = new_delivery(sessions, receiver.url)
    drive(sessions, delivery_id)
    store.delete_for_job(sessions, "j1")
    assert store.for_job(sessions, "j1") == []
