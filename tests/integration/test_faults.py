"""Faults with real processes: a worker killed mid-job, the API restarted with jobs queued."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.audio_factory import write_audio
from workers.transcript.audio import decode_audio

from .conftest import wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

# Short, so that the killed worker's task comes back within the test, and still above the job
# time limit, as the settings require (the minute of speech below takes well under 60 s here).
JOB_TIME_LIMIT_S = "60"
VISIBILITY_TIMEOUT_S = "65"


@pytest.fixture
def fault_stack(tmp_path, model_cache):
    service = make_stack(
        tmp_path / "stack",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        model_cache,
        auth_disabled="1",
        job_time_limit_s=JOB_TIME_LIMIT_S,
        visibility_timeout_s=VISIBILITY_TIMEOUT_S,
        # Sequential decoding reports progress window by window, so a kill lands mid-job
        # (batched decoding of a minute finishes in a few jumps).
        asr_long_batch_size="1",
    )
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def long_recording(tmp_path, real_speech_entries):
    """About 60 s of real speech: long enough to kill a worker in the middle of it."""
    pause = np.zeros(8000, dtype=np.float32)
    parts = []
    for entry in real_speech_entries * 2:
        parts += [decode_audio(entry["path"]).samples, pause]
    return write_audio(tmp_path / "samtal.flac", np.concatenate(parts)[np.newaxis, :], 16000, "flac", "flac")


def upload(client, path):
    with open(path, "rb") as f:
        response = client.post("/v1/jobs", files={"file": (path.name, f)})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_a_worker_killed_mid_job_leaves_it_to_be_done_exactly_once(fault_stack, long_recording):
    fault_stack.start_api()
    first = fault_stack.start_worker()
    with fault_stack.client() as client:
        job_id = upload(client, long_recording)
        deadline = time.monotonic() + 120
        while client.get(f"/v1/jobs/{job_id}").json()["progress"] < 0.1:
            assert time.monotonic() < deadline, "the job never got going"
            time.sleep(0.2)
        fault_stack.kill_worker(first)
        interrupted = client.get(f"/v1/jobs/{job_id}").json()
        assert interrupted["status"] == "running" and interrupted["attempts"] == 1

        fault_stack.start_worker()
        job, progress = wait_for_job(client, job_id, timeout_s=300)
        assert job["status"] == "completed", job
        assert progress == sorted(progress) and progress[0] >= interrupted["progress"], "progress never went back"
        assert job["attempts"] == 2, "redone once by the new worker"
        transcript = client.get(f"/v1/jobs/{job_id}/transcript").json()
        assert transcript["duration_s"] == pytest.approx(job["duration_s"], abs=0.01)
        assert transcript["segments"][-1]["end_s"] > 40, "the whole recording, not the half before the kill"
        # Stays completed: no late duplicate run changes it.
        time.sleep(float(VISIBILITY_TIMEOUT_S) + 2)
        assert client.get(f"/v1/jobs/{job_id}").json()["attempts"] == 2


def test_jobs_queued_while_the_api_restarts_are_not_lost(fault_stack, real_speech_entries):
    fault_stack.start_api()
    with fault_stack.client() as client:
        ids = [upload(client, e["path"]) for e in real_speech_entries[3:6]]
    fault_stack.stop_api()
    fault_stack.start_api()
    fault_stack.start_worker()
    with fault_stack.client() as client:
        for job_id in ids:
            job, _ = wait_for_job(client, job_id)
            assert job["status"] == "completed", job


def test_broker_down_is_reported_and_an_upload_leaves_nothing(fault_stack, real_speech_entries):
    fault_stack.start_api()
    fault_stack.redis.stop()
    with fault_stack.client() as client:
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"].startswith("unavailable")
        path = real_speech_entries[0]["path"]
        response = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())})
        assert time.monotonic() - started < 30, "no hanging on a dead broker"
        assert response.status_code == 503 and response.json()["error"]["code"] == "broker_unavailable"
        assert client.get("/v1/jobs").json()["total"] == 0
    jobs_dir = fault_stack.storage_dir / "jobs"
    assert not jobs_dir.exists() or list(jobs_dir.iterdir()) == []


def test_transient_errors_are_retried_with_backoff_then_fail_with_the_reason(tmp_path, model_cache, real_speech_entries):
    # A KB-Whisper model that is not on this machine, with the Hub off: ModelUnavailableError.
    service = make_stack(
        tmp_path / "stack",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        model_cache,
        auth_disabled="1",
        asr_models_allowed="kb-whisper-tiny",
        task_max_retries="2",
        task_retry_base_s="1",
    )
    try:
        service.start_api()
        service.start_worker()
        with service.client() as client:
            path = real_speech_entries[0]["path"]
            job_id = client.post(
                "/v1/jobs", files={"file": (path.name, path.read_bytes())}, data={"model": "kb-whisper-tiny"}
            ).json()["id"]
            statuses = set()
            deadline = time.monotonic() + 120
            while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] != "failed":
                statuses.add((job["status"], job["stage"]))
                assert time.monotonic() < deadline, job
                time.sleep(0.1)
        assert ("queued", "waiting_retry") in statuses
        assert job["attempts"] == 3, "the first run and two retries"
        assert job["error"]["code"] == "model_unavailable"
        assert (
            "gave up after 2 retries" in job["error"]["message"]
            and "hf download KBLab/kb-whisper-tiny" in job["error"]["message"]
        )
    finally:
        service.stop()


def test_bad_audio_fails_the_job_at_once_with_the_reason(fault_stack):
    """A job whose stored audio does not decode (here: stored behind the API's back, as a
    damaged disk or a half-synced share would leave it) fails on its first attempt, not retried."""
    from workers.settings import Settings
    from workers.store import jobs
    from workers.store.db import new_id, session_factory
    from workers.store.storage import LocalStorage
    from workers.tasks.celery_app import make_celery
    from workers.tasks.names import GPU_QUEUE, TRANSCRIBE_TASK

    fault_stack.start_api()  # runs the migrations
    fault_stack.start_worker()
    settings = Settings(_env_file=None, **{k[10:].lower(): v for k, v in fault_stack.env.items() if k.startswith("SWESCRIBE_")})
    sessions = session_factory(settings.sqlalchemy_url)
    job_id = new_id()
    stored = LocalStorage(fault_stack.storage_dir).save_bytes(f"jobs/{job_id}/audio.wav", b"RIFF....WAVEnot really audio")
    jobs.create_job(
        sessions,
        jobs.NewJob(
            owner="local",
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
    with fault_stack.client() as client:
        job, _ = wait_for_job(client, job_id)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"]["code"] == "audio_decode_error"
    assert job["error"]["message"].startswith("trasig.wav: cannot decode audio: ")
