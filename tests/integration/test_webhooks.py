"""Webhooks through the running service: a real receiver on 127.0.0.1 gets every event,
signed (verified with the standardwebhooks library), with retries keeping their webhook-id."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from .conftest import wait_for, wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]


@pytest.fixture(scope="module")
def hook_stack(tmp_path_factory, model_cache):
    root = tmp_path_factory.mktemp("hooks")
    service = make_stack(
        root, f"sqlite:///{root / 'db.sqlite'}", model_cache, webhook_allow_private="1", webhook_sweep_interval_s="0.5"
    )
    try:
        service.start_api()
        service.start_worker("gpu")
        service.start_worker("cpu")
        yield service
    finally:
        service.stop()


def test_completed_job_reaches_both_urls_signed_and_retried(hook_stack, receiver, real_speech_entries):
    key = hook_stack.create_key("ärendesystem")
    default, per_job = receiver([]), receiver([500, 200])
    with hook_stack.client(key) as client:
        endpoint = client.put("/v1/webhook", json={"url": default.url}).json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_") and client.get("/v1/webhook").json()["secret"] is None
        path = real_speech_entries[1]["path"]
        job = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}, data={"webhook_url": per_job.url}).json()
        done, _ = wait_for_job(client, job["id"])
        assert done["status"] == "completed"
        wait_for(lambda: len(default.received) == 1 and len(per_job.received) == 2)

        verified = [Webhook(secret).verify(body, headers) for headers, body in default.received + per_job.received]
        assert {v["type"] for v in verified} == {"job.completed"}
        assert all(v["data"]["id"] == job["id"] and v["data"]["transcript_inline"] for v in verified)
        assert verified[0]["data"]["transcript"]["text"] == client.get(f"/v1/jobs/{job['id']}/transcript").json()["text"]
        assert per_job.received[0][0]["webhook-id"] == per_job.received[1][0]["webhook-id"], "retries keep the id"
        assert "webhook_url" not in verified[0]["data"]["options"]

        deliveries = client.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]
        by_url = {d["url"]: d for d in deliveries}
        assert [a["status_code"] for a in by_url[per_job.url]["attempts"]] == [500, 200]
        assert by_url[default.url]["status"] == "delivered"

        again = client.post(f"/v1/jobs/{job['id']}/webhook/redeliver")
        assert again.status_code == 202
        wait_for(lambda: len(default.received) == 2)
        assert default.received[0][0]["webhook-id"] == default.received[1][0]["webhook-id"]
        listed = {d["url"]: d for d in client.get(f"/v1/jobs/{job['id']}/deliveries").json()["deliveries"]}
        # The listing keeps when the event was first created and says when it was sent again.
        assert listed[default.url]["created_at"] == by_url[default.url]["created_at"]
        assert listed[default.url]["redelivered_at"] > listed[default.url]["created_at"]


def test_a_failed_job_sends_job_failed(hook_stack, receiver):
    from workers.settings import Settings
    from workers.store import jobs
    from workers.store.db import new_id, session_factory
    from workers.store.storage import LocalStorage
    from workers.tasks.celery_app import make_celery
    from workers.tasks.names import GPU_QUEUE, TRANSCRIBE_TASK
    from workers.webhooks import store

    settings = Settings(_env_file=None, **{k[10:].lower(): v for k, v in hook_stack.env.items() if k.startswith("SWESCRIBE_")})
    hook = receiver([])
    sessions = session_factory(settings.sqlalchemy_url)
    store.set_endpoint(sessions, "local-test", hook.url)
    job_id = new_id()
    stored = LocalStorage(hook_stack.storage_dir).save_bytes(f"jobs/{job_id}/audio.wav", b"not audio at all")
    jobs.create_job(
        sessions,
        jobs.NewJob(
            owner="local-test",
            filename="trasig.wav",
            audio_key=stored.key,
            audio_sha256=stored.sha256,
            audio_size_bytes=stored.size_bytes,
            duration_s=None,
            options={},
        ),
        job_id,
    )
    make_celery(settings).send_task(TRANSCRIBE_TASK, args=[job_id], queue=GPU_QUEUE)
    wait_for(lambda: len(hook.received) == 1)
    headers, body = hook.received[0]
    event = Webhook(store.get_endpoint(sessions, "local-test").secret).verify(body, headers)
    assert event["type"] == "job.failed" and event["data"]["error"]["code"] == "audio_decode_error"


def test_webhook_urls_need_a_secret_and_a_safe_target(stack, api_key, real_speech_entries):
    path = real_speech_entries[0]["path"]
    with stack.client(api_key) as client:
        assert client.get("/v1/webhook").status_code == 404
        # A public address literal: allowed as a target, but this key has no secret to sign with.
        no_secret = client.post(
            "/v1/jobs", files={"file": (path.name, path.read_bytes())}, data={"webhook_url": "https://93.184.215.14/hook"}
        )
        assert no_secret.status_code == 400 and no_secret.json()["error"]["code"] == "no_webhook_secret"
        for url in (
            "http://127.0.0.1:9/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/x",
            "ftp://example.com/",
        ):
            response = client.put("/v1/webhook", json={"url": url})
            assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_webhook_url", url
        created = client.put("/v1/webhook", json={"url": None}).json()
        assert created["secret"].startswith("whsec_") and created["url"] is None
        refused = client.post(
            "/v1/jobs", files={"file": (path.name, path.read_bytes())}, data={"webhook_url": "http://192.168.1.20/hook"}
        )
        assert refused.status_code == 400 and "private" in refused.json()["error"]["message"]
