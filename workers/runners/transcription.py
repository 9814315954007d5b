"""One transcription job, from its id to a stored transcript: what the gpu task runs.

Idempotent: a job that is already finished (or deleted) is left alone, a job found running
is taken over only when its worker is gone or silent past the staleness bound (else the
message is a duplicate and is dropped), and completion is a guarded update by the attempt that
started it, so a redelivered or re-sent task can never run beside it or produce a second result.
While it works, the attempt writes a heartbeat into the job row.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from workers.intake.options import JobOptions
from workers.pipeline.cost import CostMeter, JobCost, merge
from workers.pipeline.diarize import DiarizeOptions
from workers.pipeline.progress import ProgressHook, sub_range
from workers.pipeline.run import DiarizationStep, StageHook, progress_by_stage, transcribe_file
from workers.pipeline.transcribe import TranscribeOptions
from workers.runners.configured_models import load_configured_diarizer, load_configured_model, long_batch_size
from workers.runners.cost import configured_meter
from workers.runners.liveness import abandoned, current_worker
from workers.runners.redaction import RedactedJob, redact_job
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import Job, SummaryStatus
from workers.store.storage import Storage
from workers.transcript.errors import AudioDecodeError, PermanentError
from workers.transcript.formats import to_json
from workers.transcript.languages import parse_language
from workers.transcript.types import Transcript
from workers.webhooks.notify import notify_job_finished

logger = logging.getLogger(__name__)

# Job progress: loading the model, then the pipeline (its own stages share this range, see
# workers/pipeline/run.py), then storing the result. Progress only ever rises.
LOAD_RANGE = (0.0, 0.02)
PIPELINE_RANGE = (0.02, 0.97)
STORE_RANGE = (0.97, 1.0)
PROGRESS_WRITE_INTERVAL_S = 1.0
# Attempts are the first run, the retries after transient errors, and redeliveries after a
# worker died (killed, out of memory, hard time limit); a job that keeps killing its worker
# must stop being retried, after this many deaths.
WORKER_LOSSES_ALLOWED = 3


@dataclass(frozen=True)
class WorkerContext:
    settings: Settings
    sessions: sessionmaker
    storage: Storage
    # Queues a webhook delivery by id (the cpu queue's task); tests may pass a list's append.
    enqueue_delivery: Callable[[str], None]
    # Queues a job's summary by job id (the cpu queue's task); None: summaries are not made.
    enqueue_summary: Callable[[str], None] | None = None


def finish_failed(ctx: WorkerContext, job_id: str, code: str, message: str) -> None:
    """Fail the job (if not already finished) and tell the case system."""
    if jobs.fail_job(ctx.sessions, job_id, code, message):
        notify_job_finished(ctx.sessions, ctx.storage, ctx.settings, job_id, ctx.enqueue_delivery)


class ProgressWriter:
    """Writes stage and progress to the job row: at once when a stage starts, then at most once
    a second."""

    def __init__(self, ctx: WorkerContext, job_id: str):
        self.ctx, self.job_id = ctx, job_id
        self.stage_name = "starting"
        self.written_stage = ""
        self.last_write = 0.0

    def enter(self, stage: str, start: float) -> None:
        self.stage_name = stage
        self.report(start)

    def report(self, value: float) -> None:
        now = time.monotonic()
        if self.stage_name != self.written_stage or now - self.last_write >= PROGRESS_WRITE_INTERVAL_S:
            jobs.report_progress(self.ctx.sessions, self.job_id, self.stage_name, round(value, 4))
            self.written_stage, self.last_write = self.stage_name, now

    def pipeline_stages(self, diarizing: bool) -> StageHook:
        """The pipeline's stages within PIPELINE_RANGE, each named in the job as it starts."""
        overall = progress_by_stage(sub_range(self.report, *PIPELINE_RANGE), diarizing)

        def start(name: str) -> ProgressHook:
            self.stage_name = name
            return overall(name)

        return start


def _queue_summary(ctx: WorkerContext, job_id: str) -> None:
    """Hand the summary to the cpu queue; if that fails the summary fails, never the job."""
    try:
        if ctx.enqueue_summary is None:
            raise RuntimeError("this worker cannot queue summaries")
        ctx.enqueue_summary(job_id)
    except Exception as e:  # noqa: BLE001 - kombu raises many connection error types
        logger.warning("job %s: cannot queue its summary: %s", job_id, e)
        if jobs.fail_summary(ctx.sessions, job_id, "queue_unavailable", f"the summary could not be queued: {e}"):
            notify_job_finished(ctx.sessions, ctx.storage, ctx.settings, job_id, ctx.enqueue_delivery)


def run_transcription_job(job_id: str, ctx: WorkerContext) -> None:
    """Transcribe job `job_id`. PermanentErrors fail the job; TransientErrors propagate so the
    task can retry; anything unexpected fails the job with an internal error."""
    stale_after_s = ctx.settings.job_stale_after_s
    job = jobs.start_attempt(ctx.sessions, job_id, current_worker(), lambda running: abandoned(running, stale_after_s))
    if job is None:
        logger.info("job %s is finished, deleted or running elsewhere; nothing to do", job_id)
        return
    run_started(job, ctx)


def run_started(job: Job, ctx: WorkerContext) -> None:
    """Run a job this worker has started (claimed) on its own."""
    if interrupted_too_often(ctx, job):
        return
    with heartbeat(ctx, {job.id: job.attempts}):
        _run_attempt(job, ctx)


def interrupted_too_often(ctx: WorkerContext, job: Job) -> bool:
    """Fail a job that keeps killing its worker instead of starting it once more."""
    if job.attempts <= 1 + ctx.settings.task_max_retries + WORKER_LOSSES_ALLOWED:
        return False
    finish_failed(
        ctx,
        job.id,
        "too_many_attempts",
        f"the job was interrupted {job.attempts - 1} times (worker killed, out of memory or over its time limit)",
    )
    return True


@contextlib.contextmanager
def heartbeat(ctx: WorkerContext, attempts: dict[str, int]) -> Iterator[None]:
    """Record in each job (id -> attempt), every `job_heartbeat_s`, that its attempt is alive: a
    thread, because a stage (loading a model, diarizing) can go minutes without a progress
    report. A job that is finished, deleted or taken over stops being beaten for."""
    stop = threading.Event()
    alive = dict(attempts)

    def beat() -> None:
        while alive and not stop.wait(ctx.settings.job_heartbeat_s):
            for job_id, attempt in list(alive.items()):
                try:
                    if not jobs.heartbeat(ctx.sessions, job_id, attempt):
                        del alive[job_id]  # finished, deleted or taken over: nothing more to say
                except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                    logger.warning("job %s: heartbeat not recorded", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{next(iter(attempts), '')}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def job_options(ctx: WorkerContext, job: Job) -> tuple[JobOptions, TranscribeOptions] | None:
    """The job's options and its recognition options; None (the job failed with the reason)
    for a stored job that no longer fits them (an older format, an edited row): options were
    validated when the job was created."""
    try:
        options = JobOptions.from_stored(job.options)
        language = parse_language(options.language or ctx.settings.asr_language)
    except ValueError as e:
        finish_failed(ctx, job.id, "invalid_options", str(e))
        return None
    recognition = TranscribeOptions(
        language=language,
        initial_prompt=options.prompt,
        hotwords=options.hotwords,
        batch_size=ctx.settings.asr_batch_size,
        long_batch_size=long_batch_size(ctx.settings),
    )
    return options, recognition


def failed_permanently(ctx: WorkerContext, job: Job, error: PermanentError) -> None:
    logger.warning("job %s failed: %s", job.id, error)
    # The decoder names the worker's local copy; the caller knows the file by its name.
    message = f"{job.filename}: cannot decode audio: {error.reason}" if isinstance(error, AudioDecodeError) else str(error)
    finish_failed(ctx, job.id, error.code, message)


def _run_attempt(job: Job, ctx: WorkerContext) -> None:
    progress = ProgressWriter(ctx, job.id)
    timings: dict[str, float] = {}
    if (parsed := job_options(ctx, job)) is None:
        return
    options, recognition = parsed
    meter = configured_meter(ctx.settings)
    try:
        started = time.perf_counter()
        progress.enter("load_model", LOAD_RANGE[0])
        with meter.stage("load_model"):
            model = load_configured_model(options.model or ctx.settings.asr_model, ctx.settings)
            # Loaded before any work, so a missing diarization model fails (or retries) the job
            # before recognition has run.
            diarization = diarization_step(ctx, options)
        timings["load_model"] = round(time.perf_counter() - started, 3)

        stages = progress.pipeline_stages(options.diarize)

        def on_stage(name: str) -> ProgressHook:
            meter.begin(name)
            return stages(name)

        with ctx.storage.local_copy(job.audio_key) as path:
            try:
                transcript = transcribe_file(
                    model,
                    path,
                    recognition,
                    diarization=diarization,
                    on_stage=on_stage,
                    max_duration_s=ctx.settings.max_audio_hours * 3600,
                )
            finally:
                meter.end()
            finish_job(ctx, job, options, transcript, path, timings, progress, meter)
    except PermanentError as e:
        failed_permanently(ctx, job, e)


def diarization_step(ctx: WorkerContext, options: JobOptions) -> DiarizationStep | None:
    if not options.diarize:
        return None
    return DiarizationStep(load_configured_diarizer(ctx.settings), DiarizeOptions(*options.speaker_counts))


def finish_job(
    ctx: WorkerContext,
    job: Job,
    options: JobOptions,
    transcript: Transcript,
    path: Path,
    timings: dict[str, float],
    progress: ProgressWriter,
    meter: CostMeter,
    shared_cost: JobCost | None = None,
) -> None:
    """Redact (from the local copy at `path`), store and complete the job, and tell whoever
    waits for it: the same for a job decoded alone or in a batch. The job's cost is what
    `meter` measured of it, plus its share of a batch's (`shared_cost`)."""
    job_id = job.id
    redacted: RedactedJob | None = None
    if options.redacting:
        # Before anything is stored: the original transcript stays in this process.
        started = time.perf_counter()
        with meter.stage("redact"):
            redacted = redact_job(transcript, options, path)
        timings["redact"] = round(time.perf_counter() - started, 3)
    timings.update(transcript.timings_s)

    if not jobs.holds_attempt(ctx.sessions, job_id, job.attempts):
        # Taken back while this worker was silent (stalled, cut off from the database): the
        # attempt that has it now writes the result, this one must not overwrite it.
        logger.warning("job %s was taken over by another attempt; this attempt's result is dropped", job_id)
        return
    progress.enter("store", STORE_RANGE[0])
    started = time.perf_counter()
    key = jobs.transcript_key(job_id)
    with meter.stage("store"):
        if redacted is not None:
            if ctx.settings.redaction_keep_original:
                ctx.storage.save_bytes(jobs.original_transcript_key(job_id), to_json(transcript).encode("utf-8"))
            if redacted.audio_flac is not None:
                ctx.storage.save_bytes(jobs.redacted_audio_key(job_id), redacted.audio_flac)
            transcript = redacted.transcript
        ctx.storage.save_bytes(key, to_json(transcript).encode("utf-8"))
    timings["store"] = round(time.perf_counter() - started, 3)
    cost = meter.cost() if shared_cost is None else merge(meter.cost(), shared_cost)

    completed = jobs.complete_job(
        ctx.sessions, job_id, key, transcript.duration_s, timings, attempt=job.attempts, cost=cost.as_record()
    )
    if completed:
        if job.summary_status == SummaryStatus.pending:
            # job.completed waits for the summary (done or failed) so that it can carry it.
            _queue_summary(ctx, job_id)
        else:
            notify_job_finished(ctx.sessions, ctx.storage, ctx.settings, job_id, ctx.enqueue_delivery)
        return
    if jobs.get_job(ctx.sessions, job_id) is None:
        # Deleted while it ran: remove what this attempt wrote, so nothing is left behind.
        ctx.storage.delete_prefix(jobs.job_prefix(job_id))
    logger.info("job %s was finished elsewhere or deleted; result not recorded", job_id)
