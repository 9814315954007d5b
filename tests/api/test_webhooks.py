"""PUT/GET /v1/webhook, a job's deliveries and redelivery: their refusals and their effects."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, completed_job, failed_job, queued_job
from workers.store import jobs
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK
from workers.webhooks import store as webhook_store
from workers.webhooks.notify import notify_job_finished

PUBLIC_URL = "https://93.184.216.34/hook"  # an address literal: no DNS lookup in the test


def test_no_webhook_settings_yet_is_not_found(api):
    assert_error(api.client.get("/v1/webhook", headers=api.auth()), 404, "no_webhook")


def test_the_secret_is_shown_once_and_the_url_can_change(api):
    first = api.client.put("/v1/webhook", json={"url": PUBLIC_URL}, headers=api.auth())
    assert first.status_code == 200, first.text
    assert first.json()["url"] == PUBLIC_URL and first.json()["secret"].startswith("whsec_")
    again = api.client.put("/v1/webhook", json={"url": None}, headers=api.auth())
    assert again.json() == {
        "url": None,
        "secret": None,
        "disabled_at": None,
        "disabled_reason": None,
        "previous_secret_active": False,
    }
    shown = api.client.get("/v1/webhook", headers=api.auth()).json()
    assert shown["secret"] is None and shown["url"] is None
    # Each key has its own settings.
    assert_error(api.client.get("/v1/webhook", headers=api.auth(api.other_key)), 404, "no_webhook")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://192.168.1.10/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/",
        "file:///etc/passwd",
        "https://93.184.216.34@127.0.0.1/",
        "https:///path-only",
        "just text",
        "http://93.184.216.34:99999/",
        "http://[::1",
        "http://93.184.216.34:port/",
    ],
)
def test_an_unsafe_webhook_url_is_refused(api, url):
    error = assert_error(api.client.put("/v1/webhook", json={"url": url}, headers=api.auth()), 400, "invalid_webhook_url")
    assert error["message"]
    assert webhook_store.get_endpoint(api.sessions, api.owner) is None, "nothing created, not even the secret"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"url": 42}},
        {"json": {"url": ["https://93.184.216.34/"]}},
        {"json": {"url": "https://a.se/" + "x" * 2000}},
        {"json": [PUBLIC_URL]},
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        {"content": b"", "headers": {"Content-Type": "application/json"}},
    ],
    ids=["number", "list", "too-long", "array-body", "broken-json", "empty-body"],
)
def test_a_malformed_webhook_body_is_refused(api, kwargs):
    headers = {**api.auth(), **kwargs.pop("headers", {})}
    assert_error(api.client.put("/v1/webhook", headers=headers, **kwargs), 422, "invalid_request")
    assert webhook_store.get_endpoint(api.sessions, api.owner) is None


def test_private_targets_are_allowed_when_the_operator_says_so(api):
    api.settings.webhook_allow_private = True  # the route reads the settings per request
    response = api.client.put("/v1/webhook", json={"url": "http://10.0.0.5/hook"}, headers=api.auth())
    assert response.status_code == 200, response.text


def finished_with_deliveries(api, failed: bool = False) -> tuple[str, list[str]]:
    webhook_store.set_endpoint(api.sessions, api.owner, PUBLIC_URL)
    job_id = failed_job(api) if failed else completed_job(api)
    sent: list[str] = []
    ids = notify_job_finished(api.sessions, api.storage, api.settings, job_id, sent.append)
    assert ids and sent == ids
    return job_id, ids


def test_a_jobs_deliveries_are_listed(api):
    job_id, ids = finished_with_deliveries(api)
    body = api.client.get(f"/v1/jobs/{job_id}/deliveries", headers=api.auth()).json()
    assert [d["id"] for d in body["deliveries"]] == ids
    assert body["deliveries"][0]["event"] == "job.completed" and body["deliveries"][0]["attempts"] == []
    # A job without any has an empty list, not an error.
    other = completed_job(api)
    assert api.client.get(f"/v1/jobs/{other}/deliveries", headers=api.auth()).json() == {"deliveries": []}


@pytest.mark.parametrize("state", ["queued", "running"])
def test_an_unfinished_job_has_nothing_to_redeliver(api, state):
    job_id = queued_job(api)
    if state == "running":
        jobs.start_attempt(api.sessions, job_id)
    error = assert_error(api.client.post(f"/v1/jobs/{job_id}/webhook/redeliver", headers=api.auth()), 409, "job_not_finished")
    assert state in error["message"]
    assert api.broker.tasks == []


def test_a_finished_job_without_deliveries_has_nothing_to_redeliver(api):
    assert_error(api.client.post(f"/v1/jobs/{completed_job(api)}/webhook/redeliver", headers=api.auth()), 409, "no_deliveries")
    assert api.broker.tasks == []


@pytest.mark.parametrize("failed", [False, True], ids=["completed", "failed"])
def test_redelivery_queues_every_delivery_again(api, failed):
    job_id, ids = finished_with_deliveries(api, failed)
    response = api.client.post(f"/v1/jobs/{job_id}/webhook/redeliver", headers=api.auth())
    assert response.status_code == 202, response.text
    assert [d["redelivered_at"] is not None for d in response.json()["deliveries"]] == [True] * len(ids)
    assert api.broker.tasks == [(DELIVER_WEBHOOK_TASK, [i], CPU_QUEUE) for i in ids]


def test_redelivery_with_the_broker_down_is_503_not_500(api):
    job_id, ids = finished_with_deliveries(api)
    api.broker.down = True
    error = assert_error(api.client.post(f"/v1/jobs/{job_id}/webhook/redeliver", headers=api.auth()), 503, "broker_unavailable")
    assert error["message"]
    # The deliveries stay pending and due, for the sweeper to send once the broker is back.
    delivered = [d for d, _ in webhook_store.for_job(api.sessions, job_id)]
    assert [d.status for d in delivered] == ["pending"] * len(ids)
    assert set(webhook_store.due(api.sessions)) >= set(ids)
