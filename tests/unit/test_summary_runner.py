"""The summary task's runner against a real database, real storage and a local HTTP endpoint:
whatever the LLM does, the job stays completed with its transcript."""

from __future__ import annotations

import json

import pytest

from tests.chat_endpoint import ChatEndpoint, completion
from tests.meeting_transcripts import CASE_CALL, meeting
from workers.runners.summary import run_summary_job
from workers.runners.transcription import WorkerContext
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import new_id, session_factory
from workers.store.migrate import upgrade
from workers.store.storage import storage_from_settings
from workers.summary.schema import Summary
from workers.transcript.formats import to_json
from workers.webhooks import store

TRANSCRIPT_JSON = to_json(meeting(CASE_CALL))


@pytest.fixture
def endpoint():
    server = ChatEndpoint()
    yield server
    server.close()


@pytest.fixture
def ctx(tmp_path, endpoint):
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        llm_base_url=endpoint.base_url,
        llm_model="mistral-small-latest",
        llm_max_retries=1,
        llm_retry_base_s=0,
        llm_timeout_s=2,
        webhook_allow_private=True,
    )
    upgrade(settings.sqlalchemy_url)
    queued: list[str] = []
    context = WorkerContext(settings, session_factory(settings.sqlalchemy_url), storage_from_settings(settings), queued.append)
    store.set_endpoint(context.sessions, "k1", "http://127.0.0.1:9/hook")
    return context


def completed_job(ctx, summarize=True) -> str:
    job_id = new_id()
    new = jobs.NewJob(
        owner="k1",
        filename="samtal.wav",
        audio_key=f"jobs/{job_id}/audio.wav",
        audio_sha256="0" * 64,
        audio_size_bytes=10,
        duration_s=54.0,
        options={"summarize": summarize},
    )
    job, _ = jobs.create_job(ctx.sessions, new, job_id)
    assert job.summary_status == ("pending" if summarize else "none")
    jobs.start_attempt(ctx.sessions, job_id)
    ctx.storage.save_bytes(jobs.transcript_key(job_id), TRANSCRIPT_JSON.encode())
    assert jobs.complete_job(ctx.sessions, job_id, jobs.transcript_key(job_id), 54.0, {})
    return job_id


def webhook_summary(ctx, job_id) -> dict:
    ((delivery, _attempts),) = store.for_job(ctx.sessions, job_id)
    payload = json.loads(delivery.payload)
    assert payload["type"] == "job.completed" and payload["data"]["status"] == "completed"
    return payload["data"]["summary"]


def test_a_summary_is_stored_and_the_webhook_carries_it(ctx, endpoint):
    job_id = completed_job(ctx)
    run_summary_job(job_id, ctx)
    job = jobs.get_job(ctx.sessions, job_id)
    assert (job.status, job.summary_status, job.summary_attempts) == ("completed", "completed", 1)
    stored = Summary.model_validate_json(ctx.storage.read_bytes(job.summary_key))
    assert stored.model == "mistral-small-latest" and stored.decisions
    sent = webhook_summary(ctx, job_id)
    assert sent["status"] == "completed" and sent["error"] is None
    assert sent["document"]["abstract"] == stored.abstract
    run_summary_job(job_id, ctx)  # a redelivered task
    assert len(endpoint.requests) == 1, "a finished summary is not made again"


@pytest.mark.parametrize(
    "answers, code",
    [
        ([(500, "down")] * 2, "llm_unavailable"),
        ([(200, completion("inget JSON"))] * 2, "llm_invalid_output"),
        ([3.0, 3.0], "llm_unavailable"),
        ([(404, '{"error": "model not found"}')], "llm_rejected"),
    ],
)
def test_llm_failures_leave_the_transcript_and_fail_only_the_summary(ctx, endpoint, answers, code):
    endpoint.answers = list(answers)
    job_id = completed_job(ctx)
    run_summary_job(job_id, ctx)
    job = jobs.get_job(ctx.sessions, job_id)
    assert job.status == "completed" and job.error_code is None
    assert ctx.storage.read_bytes(job.transcript_key).decode() == TRANSCRIPT_JSON
    assert (job.summary_status, job.summary_error_code) == ("failed", code)
    assert len(endpoint.requests) == (1 if code == "llm_rejected" else 2), "bounded: 1 + llm_max_retries attempts"
    sent = webhook_summary(ctx, job_id)
    assert sent == {"status": "failed", "error": {"code": code, "message": job.summary_error}, "document": None}


def test_asking_again_after_a_failure_makes_the_summary(ctx, endpoint):
    endpoint.answers = [(500, "down")] * 2
    job_id = completed_job(ctx)
    run_summary_job(job_id, ctx)
    assert jobs.request_summary(ctx.sessions, job_id)
    assert not jobs.request_summary(ctx.sessions, job_id), "not twice while pending"
    run_summary_job(job_id, ctx)
    job = jobs.get_job(ctx.sessions, job_id)
    assert (job.summary_status, job.summary_error, job.summary_attempts) == ("completed", None, 1)


def test_nothing_happens_for_jobs_that_did_not_ask(ctx, endpoint):
    job_id = completed_job(ctx, summarize=False)
    run_summary_job(job_id, ctx)
    assert jobs.get_job(ctx.sessions, job_id).summary_status == "none" and endpoint.requests == []


def test_without_an_endpoint_the_summary_fails_with_a_reason(ctx):
    job_id = completed_job(ctx)
    unconfigured = WorkerContext(
        ctx.settings.model_copy(update={"llm_base_url": None}), ctx.sessions, ctx.storage, lambda _id: None
    )
    run_summary_job(job_id, unconfigured)
    job = jobs.get_job(ctx.sessions, job_id)
    assert (job.status, job.summary_status, job.summary_error_code) == ("completed", "failed", "llm_not_configured")
    assert "SWESCRIBE_LLM_BASE_URL" in job.summary_error


def test_a_failed_transcription_fails_its_summary_too(ctx):
    job_id = new_id()
    new = jobs.NewJob(
        owner="k1",
        filename="trasig.wav",
        audio_key=f"jobs/{job_id}/audio.wav",
        audio_sha256="0" * 64,
        audio_size_bytes=10,
        duration_s=None,
        options={"summarize": True},
    )
    jobs.create_job(ctx.sessions, new, job_id)
    jobs.start_attempt(ctx.sessions, job_id)
    assert jobs.fail_job(ctx.sessions, job_id, "audio_decode_error", "not audio")
    job = jobs.get_job(ctx.sessions, job_id)
    assert (job.status, job.summary_status, job.summary_error_code) == ("failed", "failed", "no_transcript")
    plain = completed_job(ctx, summarize=False)
    assert not jobs.fail_job(ctx.sessions, plain, "late", "too late")
    assert jobs.get_job(ctx.sessions, plain).summary_status == "none"


@pytest.mark.parametrize("one_at_a_time", [True, False])
def test_summaries_take_turns_only_when_the_endpoint_needs_it(tmp_path, one_at_a_time):
    import threading
    import time

    from workers.runners.summary import llm_turn

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", llm_one_at_a_time=one_at_a_time)
    events: list[str] = []
    first_inside = threading.Event()

    def first():
        with llm_turn(settings):
            events.append("first in")
            first_inside.set()
            time.sleep(0.5)
            events.append("first out")

    def second():
        first_inside.wait(5)
        with llm_turn(settings):
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    expected = ["first in", "first out", "second in"] if one_at_a_time else ["first in", "second in", "first out"]
    assert events == expected


def test_a_summary_waits_for_another_process_and_a_killed_holder_frees_the_turn(tmp_path):
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from workers.runners.summary import llm_turn

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", llm_one_at_a_time=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from workers.settings import Settings; "
            "from workers.runners.summary import llm_turn; "
            "s = Settings(_env_file=None, data_dir=Path(sys.argv[1]), llm_one_at_a_time=True)\n"
            "with llm_turn(s):\n    print('in', flush=True); time.sleep(60)",
            str(settings.data_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout.readline().strip() == "in"
        started = time.monotonic()
        threading.Timer(1.0, holder.send_signal, (signal.SIGKILL,)).start()
        with llm_turn(settings):
            waited = time.monotonic() - started
        assert 0.8 < waited < 30, "waited for the other process, and got the turn once it was killed"
    finally:
        holder.kill()
        holder.wait()


def test_the_embedded_server_makes_summaries_take_turns():
    from workers.summary.configured import embedded_settings_env

    assert Settings(
        _env_file=None, **{k[10:].lower(): v for k, v in embedded_settings_env("http://127.0.0.1:1/v1").items()}
    ).llm_one_at_a_time
