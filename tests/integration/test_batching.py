"""Short jobs decoded together by a real gpu worker (Celery on Redis, the offline model, SQLite),
with webhooks to a real receiver on 127.0.0.1 through a real cpu worker: each job of a batch
completes or fails alone, with its own result, progress and one webhook; a worker killed
mid-batch loses none of them and records none twice."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook

from workers.evaluation.scoring import error_rates

from .conftest import wait_for, wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

JOB_TIME_LIMIT_S = "60"
VISIBILITY_TIMEOUT_S = "65"
# The offline base model on these read sentences, decoded one by one, is near 0.3; packing
# must not make it much worse.
PACKED_WER_AT_MOST = 0.45


@pytest.fixture
def batch_stack(tmp_path, model_cache):
    service = make_stack(
        tmp_path / "stack",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        model_cache,
        webhook_allow_private="1",
        webhook_sweep_interval_s="0.5",
        batch_windows="4",
        job_time_limit_s=JOB_TIME_LIMIT_S,
        visibility_timeout_s=VISIBILITY_TIMEOUT_S,
    )
    try:
        service.start_api()
        service.start_worker("cpu")
        yield service
    finally:
        service.stop()


def upload_all(client, entries, fields=None) -> dict[str, dict]:
    """Job id -> manifest entry, every upload accepted."""
    jobs = {}
    for entry in entries:
        path = entry["path"]
        response = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}, data=fields or {})
        assert response.status_code == 202, response.text
        jobs[response.json()["id"]] = entry
    return jobs


def events_by_job(receiver, secret: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for headers, body in receiver.received:
        event = Webhook(secret).verify(body, headers)
        found.setdefault(event["data"]["id"], []).append(event["type"])
    return found


def test_short_uploads_are_decoded_together_and_each_ends_alone(batch_stack, receiver, real_speech_entries):
    key = batch_stack.create_key("växel")
    hook = receiver([])
    with batch_stack.client(key) as client:
        secret = client.put("/v1/webhook", json={"url": hook.url}).json()["secret"]
        jobs = upload_all(client, real_speech_entries)
        # One recording is damaged in storage after it was accepted: its job must fail alone.
        broken = next(iter(jobs))
        audio = next((batch_stack.root / "data").rglob(f"jobs/{broken}/audio.*"))
        audio.write_bytes(b"\x00not audio any more" * 64)
        batch_stack.start_worker("gpu")  # everything is queued: the worker finds company at once

        finished = {job_id: wait_for_job(client, job_id) for job_id in jobs}
        assert finished[broken][0]["status"] == "failed"
        assert finished[broken][0]["error"]["code"] == "audio_decode_error"
        done = {job_id: state for job_id, (state, _) in finished.items() if job_id != broken}
        assert all(state["status"] == "completed" for state in done.values()), done

        batches = [state["batch"] for state in done.values()]
        assert batches.count(None) < len(batches) and max(batches.count(b) for b in set(batches) if b) >= 3
        for job_id, (state, progress) in finished.items():
            assert progress == sorted(progress) and state["progress"] == 1.0 or job_id == broken
        for state in done.values():
            assert state["timings_s"]["transcribe"] > 0 and "decode" in state["timings_s"], state["timings_s"]
            # Its own stages and its share of the batch's, by audio duration.
            stages = state["cost"]["stages"]
            assert {"load_model", "decode", "transcribe", "store"} <= set(stages), stages
            assert stages["transcribe"]["cpu_s"] > 0 and state["cost"]["energy_wh"] > 0

        texts = {job_id: client.get(f"/v1/jobs/{job_id}/transcript").json()["text"] for job_id in done}
        rates = error_rates([jobs[j]["text"] for j in done], [texts[j] for j in done])
        assert rates.wer <= PACKED_WER_AT_MOST, (rates, texts)
        # Each job has its own clip's words, not a neighbour's from the shared window: its
        # transcript is nearest to its own reference.
        for j in done:
            nearest = min(done, key=lambda k: error_rates([jobs[k]["text"]], [texts[j]]).wer)
            assert nearest == j, (texts[j], jobs[j]["text"])

        wait_for(lambda: len(hook.received) >= len(jobs))
        time.sleep(2)  # nothing more comes
        events = events_by_job(hook, secret)
        assert events == {j: ["job.failed" if j == broken else "job.completed"] for j in jobs}


def test_a_worker_killed_mid_batch_loses_no_job_and_records_none_twice(batch_stack, receiver, real_speech_entries):
    key = batch_stack.create_key("växel")
    hook = receiver([])
    with batch_stack.client(key) as client:
        secret = client.put("/v1/webhook", json={"url": hook.url}).json()["secret"]
        jobs = upload_all(client, real_speech_entries + real_speech_entries[:4])
        first = batch_stack.start_worker("gpu")
        deadline = time.monotonic() + 120
        while True:
            states = [client.get(f"/v1/jobs/{j}").json() for j in jobs]
            in_batch = [s for s in states if s["status"] == "running" and s["batch"] and s["stage"] == "transcribe"]
            if len(in_batch) >= 3:
                break
            assert time.monotonic() < deadline, f"no batch got going: {states}"
            time.sleep(0.1)
        batch_stack.kill_worker(first)
        interrupted = {s["id"] for s in states if s["status"] == "running"}
        assert all(client.get(f"/v1/jobs/{j}").json()["status"] == "running" for j in interrupted)

        batch_stack.start_worker("gpu")
        finished = {job_id: wait_for_job(client, job_id, timeout_s=300)[0] for job_id in jobs}
        assert all(state["status"] == "completed" for state in finished.values()), finished
        assert all(finished[j]["attempts"] == 2 for j in interrupted), "each interrupted job was redone once"
        assert all(client.get(f"/v1/jobs/{j}/transcript").json()["text"].strip() for j in jobs)

        wait_for(lambda: len(hook.received) >= len(jobs), timeout_s=90)
        # A late redelivery of the killed worker's message changes nothing.
        time.sleep(float(VISIBILITY_TIMEOUT_S) - 40)
        events = events_by_job(hook, secret)
        assert events == {j: ["job.completed"] for j in jobs}, "one completion per job, none twice"
        assert [client.get(f"/v1/jobs/{j}").json()["attempts"] for j in interrupted] == [2] * len(interrupted)


def test_an_upload_runs_beside_a_bulk_batch_on_a_worker_of_its_own_lane(batch_stack, real_speech_entries):
    """One gpu worker per lane (what `swescribe up` runs): an upload does not wait for the bulk
    batch in progress, it is decoded beside it."""
    key = batch_stack.create_key("växel")
    with batch_stack.client(key) as client:
        bulk = upload_all(client, real_speech_entries * 2, fields={"priority": "bulk"})
        batch_stack.start_worker("gpu-normal")
        batch_stack.start_worker("gpu-bulk")
        deadline = time.monotonic() + 120
        while True:
            states = [client.get(f"/v1/jobs/{j}").json() for j in bulk]
            in_batch = [s for s in states if s["status"] == "running" and s["batch"] and s["stage"] == "transcribe"]
            if in_batch:
                break
            assert time.monotonic() < deadline, f"no bulk batch got going: {states}"
            time.sleep(0.1)
        (upload,) = upload_all(client, real_speech_entries[:1])
        state, _ = wait_for_job(client, upload)
        assert (state["status"], state["priority"]) == ("completed", "normal"), state
        batch_ended = [wait_for_job(client, s["id"], timeout_s=300)[0]["finished_at"] for s in in_batch]
        assert state["started_at"] < min(batch_ended), "it ran while the bulk batch was being decoded"
        assert all(wait_for_job(client, j, timeout_s=300)[0]["status"] == "completed" for j in bulk)
