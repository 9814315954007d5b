"""Faults with real processes: a worker killed mid-job, the API restarted with jobs queued."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.audio_factory import write_audio
from workers.pipeline.audio import decode_audio

from .conftest import wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

# Short, so that the killed worker's task comes back within the test; a real deployment
# keeps it above the longest job.
VISIBILITY_TIMEOUT_S = "10"


@pytest.fixture
def fault_stack(tmp_path, model_cache):
    service = make_stack(tmp_path / "stack", f"sqlite:///{tmp_path / 'db.sqlite'}", model_cache,
                         auth_disabled="1", visibility_timeout_s=VISIBILITY_TIMEOUT_S)
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
