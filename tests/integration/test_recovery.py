"""Jobs the broker loses come back, with real Redis, Celery workers and databases: Redis
restarted empty with jobs queued, and a gpu worker's main process SIGKILLed mid-job.

Short bounds through the settings: a heartbeat a second, stale after 6 s, a reconciler pass
a second (in the cpu worker).
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from tests.audio_factory import write_audio
from workers.local.redis_server import ensure_redis
from workers.transcript.audio import decode_audio

from .conftest import wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

STALE_AFTER_S = 6.0
RECONCILE_INTERVAL_S = 1.0


@pytest.fixture(scope="module")
def recovery_stack(database_url, tmp_path_factory, model_cache):
    """API, one cpu worker (the reconciler) and one gpu worker, shared by the module's tests."""
    service = make_stack(
        tmp_path_factory.mktemp("recovery"),
        database_url,
        model_cache,
        auth_disabled="1",
        job_heartbeat_s="1",
        job_stale_after_s=str(STALE_AFTER_S),
        reconcile_interval_s=str(RECONCILE_INTERVAL_S),
        asr_long_batch_size="1",  # progress window by window: a worker is stopped mid-job
    )
    try:
        service.start_api()
        service.start_worker("cpu")
        service.gpu = service.start_worker("gpu")
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def half_minute_recording(tmp_path_factory, real_speech_entries):
    """About 30 s of real speech: long enough to kill a worker in the middle of it."""
    pause = np.zeros(8000, dtype=np.float32)
    parts = []
    for entry in real_speech_entries:
        parts += [decode_audio(entry["path"]).samples, pause]
    folder = tmp_path_factory.mktemp("audio")
    return write_audio(folder / "samtal.flac", np.concatenate(parts)[np.newaxis, :], 16000, "flac", "flac")


def upload(client, path) -> str:
    with open(path, "rb") as f:
        response = client.post("/v1/jobs", files={"file": (path.name, f)})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def wait_until(client, job_id: str, done, timeout_s: float, what: str) -> dict:
    deadline = time.monotonic() + timeout_s
    while not done(job := client.get(f"/v1/jobs/{job_id}").json()):
        assert time.monotonic() < deadline, f"{what}: {job}"
        time.sleep(0.2)
    return job


def test_jobs_queued_when_redis_restarts_empty_all_complete_once(recovery_stack, half_minute_recording, real_speech_entries):
    stack = recovery_stack
    with stack.client() as client:
        busy = upload(client, half_minute_recording)  # holds the only gpu worker, so the next ones wait
        wait_until(client, busy, lambda j: j["status"] == "running", 60, "the first job never started")
        queued = [upload(client, e["path"]) for e in real_speech_entries[:3]]
        assert {client.get(f"/v1/jobs/{i}").json()["status"] for i in queued} == {"queued"}

        # Killed and started again, empty, on the same port: every message is gone.
        stack.redis.process.kill()
        stack.redis.process.wait()
        stack.redis = ensure_redis(stack.redis.url, stack.root / "redis-again.log")
        assert stack.redis.process is not None and stack.redis.url == stack.env["SWESCRIBE_REDIS_URL"]

        for job_id in [busy, *queued]:
            job, _ = wait_for_job(client, job_id, timeout_s=240)
            assert job["status"] == "completed", job
            assert job["attempts"] == 1, "sent again, run once"
        time.sleep(STALE_AFTER_S + 2 * RECONCILE_INTERVAL_S)
        assert [client.get(f"/v1/jobs/{i}").json()["attempts"] for i in queued] == [1, 1, 1], "no late duplicate run"


def test_a_gpu_worker_killed_mid_job_is_redone_once_within_the_staleness_bound(recovery_stack, half_minute_recording):
    stack = recovery_stack
    with stack.client() as client:
        job_id = upload(client, half_minute_recording)
        wait_until(client, job_id, lambda j: j["progress"] >= 0.1, 120, "the job never got going")
        # The main process only: its pool process dies with it (Celery sets the parent-death signal).
        os.kill(stack.gpu.pid, signal.SIGKILL)
        stack.gpu.wait()
        killed_at = time.monotonic()
        stack.gpu = stack.start_worker("gpu")

        again = wait_until(client, job_id, lambda j: j["attempts"] == 2, STALE_AFTER_S + 10, "never taken back")
        assert time.monotonic() - killed_at < STALE_AFTER_S + 10
        assert again["status"] in ("running", "completed")
        job, _ = wait_for_job(client, job_id, timeout_s=240)
        assert job["status"] == "completed" and job["attempts"] == 2, job
        transcript = client.get(f"/v1/jobs/{job_id}/transcript").json()
        assert transcript["segments"][-1]["end_s"] > 20, "the whole recording"
        time.sleep(STALE_AFTER_S + 2 * RECONCILE_INTERVAL_S)
        assert client.get(f"/v1/jobs/{job_id}").json()["attempts"] == 2, "no late duplicate run"
