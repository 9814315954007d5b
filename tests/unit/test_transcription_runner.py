"""The gpu task's runner, run_transcription_job, on a real SQLite job store and real local
storage; only the model loaders and the pipeline call are fakes, so every outcome (done, bad
audio, bad options, transient errors, deletion mid-run, redelivery) is quick to reach."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.transcripts import segment, transcript, words
from workers.intake.submit import Intake, remove_job
from workers.pipeline.cost import SOURCES
from workers.runners import transcription as runner
from workers.runners.liveness import current_worker
from workers.runners.transcription import WORKER_LOSSES_ALLOWED, WorkerContext, run_transcription_job
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import get_engine, new_id, session_factory
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage
from workers.transcript.errors import AudioDecodeError, ModelNotFoundError, ModelUnavailableError
from workers.transcript.formats import transcript_from_json
from workers.webhooks import store as webhook_store

AUDIO = b"RIFF-not-really-decoded-here"  # the pipeline is a fake: it only checks the bytes arrive
HOOK = "https://93.184.216.34/hook"
TRANSCRIPT = transcript(
    segment(0, words((0.0, 0.5, "God"), (0.6, 1.0, "morgon"))),
    segment(1, words((1.2, 1.6, "Välkomna"), (1.7, 2.0, "hit"))),
    duration_s=3.0,
)


@dataclass
class Fakes:
    """What the fakes were asked, and what they do."""

    loaded_models: list[str] = field(default_factory=list)
    loaded_diarizers: int = 0
    pipeline_calls: list[dict] = field(default_factory=list)
    progress: list[tuple[str, float]] = field(default_factory=list)
    load_error: Exception | None = None
    pipeline_error: Exception | None = None
    during_pipeline: object = None  # called with the job id inside the pipeline


@dataclass
class Env:
    ctx: WorkerContext
    storage: LocalStorage
    root: Path
    fakes: Fakes
    deliveries: list[str]
    summaries: list[str]

    @property
    def sessions(self):
        return self.ctx.sessions


@pytest.fixture
def env(tmp_path, monkeypatch) -> Env:
    url = f"sqlite:///{tmp_path / 'swescribe.db'}"
    upgrade(url)
    sessions = session_factory(url)
    storage = LocalStorage(tmp_path / "storage")
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        database_url=url,
        storage_dir=tmp_path / "storage",
        asr_model="whisper-base-offline",
        asr_language="sv",
        task_max_retries=2,
        webhook_allow_private=False,
    )
    fakes = Fakes()
    deliveries: list[str] = []
    summaries: list[str] = []

    def load_model(name, got_settings):
        assert got_settings is settings
        if fakes.load_error:
            raise fakes.load_error
        fakes.loaded_models.append(name)
        return f"model:{name}"

    def load_diarizer(got_settings):
        fakes.loaded_diarizers += 1
        return "diarizer"

    def transcribe_file(model, path, options, diarization=None, on_stage=None, **other):
        fakes.pipeline_calls.append(
            {"model": model, "audio": Path(path).read_bytes(), "options": options, "diarization": diarization, **other}
        )
        stages = ["decode", "transcribe"] + (["diarize"] if diarization else [])
        for name in stages:
            report = on_stage(name)
            for fraction in (0.25, 0.5, 1.0):
                report(fraction)
            if name == "transcribe":
                if fakes.pipeline_error:
                    raise fakes.pipeline_error
                if fakes.during_pipeline:
                    fakes.during_pipeline(job_id_of(path))
        return TRANSCRIPT

    real_report = jobs.report_progress

    def report_progress(sessions_, job_id, stage, progress):
        fakes.progress.append((stage, progress))
        real_report(sessions_, job_id, stage, progress)

    monkeypatch.setattr(runner, "load_configured_model", load_model)
    monkeypatch.setattr(runner, "load_configured_diarizer", load_diarizer)
    monkeypatch.setattr(runner, "transcribe_file", transcribe_file)
    monkeypatch.setattr(jobs, "report_progress", report_progress)
    # Every report is written (not at most one a second), so each value the job shows is checked.
    monkeypatch.setattr(runner, "PROGRESS_WRITE_INTERVAL_S", 0.0)
    ctx = WorkerContext(settings, sessions, storage, deliveries.append, summaries.append)
    yield Env(ctx, storage, tmp_path / "storage", fakes, deliveries, summaries)
    get_engine(url).dispose()


def job_id_of(path) -> str:
    return Path(path).parent.name  # storage/jobs/<id>/audio.wav


def new_job(env: Env, options: dict | None = None, filename: str = "förhör 3.wav") -> str:
    job_id = new_id()
    key = f"{jobs.job_prefix(job_id)}/audio.wav"
    stored = env.storage.save_bytes(key, AUDIO)
    jobs.create_job(
        env.sessions,
        jobs.NewJob(
            owner="k1",
            filename=filename,
            audio_key=key,
            audio_sha256=stored.sha256,
            audio_size_bytes=stored.size_bytes,
            duration_s=3.0,
            options=options or {},
        ),
        job_id,
    )
    return job_id


def stored_files(env: Env, job_id: str) -> list[str]:
    folder = env.root / "jobs" / job_id
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_job_runs_to_done_with_its_transcript_and_timings(env):
    webhook_store.set_endpoint(env.sessions, "k1", HOOK)
    job_id = new_job(env, {"language": "sv", "prompt": "Kiruna tingsrätt", "hotwords": "Lindqvist"})
    run_transcription_job(job_id, env.ctx)

    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.stage, job.progress, job.attempts, job.error_code) == ("completed", "done", 1.0, 1, None)
    assert job.duration_s == 3.0
    assert {"load_model", "decode", "transcribe", "store"} <= set(job.timings_s)
    assert all(v >= 0 for v in job.timings_s.values())
    assert job.transcript_key == jobs.transcript_key(job_id)
    assert transcript_from_json(env.storage.read_bytes(job.transcript_key).decode("utf-8")).text == TRANSCRIPT.text
    # The pipeline got the job's audio and options, and the configured model.
    (call,) = env.fakes.pipeline_calls
    assert call["audio"] == AUDIO and call["model"] == "model:whisper-base-offline" and call["diarization"] is None
    assert (call["options"].language, call["options"].initial_prompt, call["options"].hotwords) == (
        "sv",
        "Kiruna tingsrätt",
        "Lindqvist",
    )
    assert env.fakes.loaded_diarizers == 0
    # Its cost: each stage metered (the pipeline's as they started), energy with its source.
    assert set(job.cost["stages"]) == {"load_model", "decode", "transcribe", "store"}
    assert all(stage["cpu_s"] >= 0 and stage["gpu_s"] == 0 for stage in job.cost["stages"].values())
    assert job.cost["energy_wh"] >= 0 and job.cost["energy_source"] in SOURCES
    # job.completed is queued for the key's webhook, with the cost.
    assert len(env.deliveries) == 1 and env.summaries == []
    ((delivery, _attempts),) = webhook_store.for_job(env.sessions, job_id)
    data = json.loads(delivery.payload)["data"]
    assert delivery.event == "job.completed" and data["id"] == job_id
    assert data["cost"]["energy_source"] == job.cost["energy_source"]


def test_progress_rises_through_the_stages(env):
    job_id = new_job(env, {"diarize": True, "min_speakers": 2, "max_speakers": 3})
    run_transcription_job(job_id, env.ctx)

    stages = [stage for stage, _ in env.fakes.progress]
    values = [value for _, value in env.fakes.progress]
    assert list(dict.fromkeys(stages)) == ["load_model", "decode", "transcribe", "diarize", "store"]
    assert values == sorted(values), f"progress went down: {env.fakes.progress}"
    assert values[0] == 0.0 and all(0.0 <= v < 1.0 for v in values)
    assert len(values) > len(set(stages)), "reports within stages were recorded too"
    assert env.fakes.progress[-1] == ("store", 0.97)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.progress) == ("completed", 1.0)
    # Diarization was loaded before any work, with the job's speaker counts.
    assert env.fakes.loaded_diarizers == 1
    step = env.fakes.pipeline_calls[0]["diarization"]
    assert (step.options.num_speakers, step.options.min_speakers, step.options.max_speakers) == (None, 2, 3)


def test_the_jobs_model_option_picks_the_model(env):
    run_transcription_job(new_job(env, {"model": "kb-whisper-small"}), env.ctx)
    assert env.fakes.loaded_models == ["kb-whisper-small"]


def test_bad_audio_fails_the_job_with_its_code_and_the_callers_filename(env):
    webhook_store.set_endpoint(env.sessions, "k1", HOOK)
    env.fakes.pipeline_error = AudioDecodeError("/var/tmp/worker-copy/audio.wav", "the file is truncated")
    job_id = new_job(env, filename="förhör 3.wav")
    run_transcription_job(job_id, env.ctx)

    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.error_code) == ("failed", "audio_decode_error")
    assert job.error_message == "förhör 3.wav: cannot decode audio: the file is truncated"
    assert "worker-copy" not in job.error_message
    assert job.transcript_key is None and stored_files(env, job_id) == ["audio.wav"]
    ((delivery, _),) = webhook_store.for_job(env.sessions, job_id)
    assert delivery.event == "job.failed" and len(env.deliveries) == 1


def test_a_missing_model_fails_the_job_before_any_work(env):
    env.fakes.load_error = ModelNotFoundError("no model named 'kb-whisper-huge'")
    job_id = new_job(env)
    run_transcription_job(job_id, env.ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.error_code) == ("failed", "model_not_found")
    assert "kb-whisper-huge" in job.error_message
    assert env.fakes.pipeline_calls == []


@pytest.mark.parametrize(
    "options, words",
    [
        ({"diarize": "kanske"}, "diarize"),
        ({"colour": "blue"}, "colour"),
        ({"language": "klingon"}, "klingon"),
        ({"num_speakers": 2}, "diarize"),
    ],
    ids=["bad-bool", "unknown", "language", "count-without-diarize"],
)
def test_stored_options_that_no_longer_fit_fail_the_job(env, options, words):
    job_id = new_job(env, options)
    run_transcription_job(job_id, env.ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.error_code) == ("failed", "invalid_options")
    assert words in job.error_message
    assert env.fakes.loaded_models == [] and env.fakes.pipeline_calls == []


@pytest.mark.parametrize("where", ["load", "pipeline"])
def test_a_transient_error_propagates_for_the_task_to_retry(env, where):
    error = ModelUnavailableError("the Hub is unreachable")
    if where == "load":
        env.fakes.load_error = error
    else:
        env.fakes.pipeline_error = error
    job_id = new_job(env)
    with pytest.raises(ModelUnavailableError):
        run_transcription_job(job_id, env.ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.error_code, job.transcript_key) == ("running", None, None)
    assert stored_files(env, job_id) == ["audio.wav"] and env.deliveries == []


def test_a_job_deleted_while_it_runs_leaves_nothing_stored(env):
    webhook_store.set_endpoint(env.sessions, "k1", HOOK)
    intake = Intake(env.sessions, env.storage, lambda _id, _priority: None)
    env.fakes.during_pipeline = lambda job_id: remove_job(intake, job_id)  # DELETE /v1/jobs/{id} meanwhile
    job_id = new_job(env)
    run_transcription_job(job_id, env.ctx)
    assert jobs.get_job(env.sessions, job_id) is None
    assert stored_files(env, job_id) == [], "the transcript written after the delete is removed too"
    assert webhook_store.for_job(env.sessions, job_id) == [] and env.deliveries == []


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_finished_job_is_left_alone(env, outcome):
    job_id = new_job(env)
    run_transcription_job(job_id, env.ctx)
    if outcome == "failed":
        job_id = new_job(env)
        env.fakes.pipeline_error = AudioDecodeError("x", "empty")
        run_transcription_job(job_id, env.ctx)
    before = jobs.get_job(env.sessions, job_id)
    calls, progress = len(env.fakes.pipeline_calls), len(env.fakes.progress)
    env.fakes.pipeline_error = None

    run_transcription_job(job_id, env.ctx)  # a redelivered task
    after = jobs.get_job(env.sessions, job_id)
    assert (after.status, after.attempts, after.error_code, after.finished_at, after.transcript_key) == (
        before.status,
        before.attempts,
        before.error_code,
        before.finished_at,
        before.transcript_key,
    )
    assert len(env.fakes.pipeline_calls) == calls and len(env.fakes.progress) == progress


def test_a_job_that_was_never_created_is_nothing_to_do(env):
    run_transcription_job(new_id(), env.ctx)
    assert env.fakes.loaded_models == [] and env.fakes.progress == []


def dead_worker() -> str:
    """A worker name on this host whose process has ended (its pid is reaped)."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return current_worker().rsplit("/", 1)[0] + f"/{ended.pid}"


def test_a_job_that_keeps_killing_its_worker_fails(env):
    job_id = new_job(env)
    allowed = 1 + env.ctx.settings.task_max_retries + WORKER_LOSSES_ALLOWED
    for _ in range(allowed):  # attempts that died without a word
        jobs.start_attempt(env.sessions, job_id, dead_worker())
    run_transcription_job(job_id, env.ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.error_code, job.attempts) == ("failed", "too_many_attempts", allowed + 1)
    assert str(allowed) in job.error_message
    assert env.fakes.loaded_models == []


def test_the_last_allowed_attempt_still_runs(env):
    job_id = new_job(env)
    for _ in range(env.ctx.settings.task_max_retries + WORKER_LOSSES_ALLOWED):
        jobs.start_attempt(env.sessions, job_id, dead_worker())
    run_transcription_job(job_id, env.ctx)
    assert jobs.get_job(env.sessions, job_id).status == "completed"


def test_a_job_with_a_summary_queues_it_instead_of_notifying(env):
    webhook_store.set_endpoint(env.sessions, "k1", HOOK)
    job_id = new_job(env, {"summarize": True})
    run_transcription_job(job_id, env.ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.summary_status) == ("completed", "pending")
    assert env.summaries == [job_id]
    assert env.deliveries == [] and webhook_store.for_job(env.sessions, job_id) == [], "job.completed waits for the summary"


def test_a_summary_that_cannot_be_queued_fails_alone_and_the_job_is_reported(env):
    webhook_store.set_endpoint(env.sessions, "k1", HOOK)

    def broker_down(_job_id):
        raise ConnectionError("Connection refused")

    ctx = WorkerContext(env.ctx.settings, env.sessions, env.storage, env.deliveries.append, broker_down)
    job_id = new_job(env, {"summarize": True})
    run_transcription_job(job_id, ctx)
    job = jobs.get_job(env.sessions, job_id)
    assert (job.status, job.summary_status, job.summary_error_code) == ("completed", "failed", "queue_unavailable")
    ((delivery, _),) = webhook_store.for_job(env.sessions, job_id)
    assert delivery.event == "job.completed" and len(env.deliveries) == 1
