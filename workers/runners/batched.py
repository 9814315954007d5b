"""Several short jobs decoded together: what the gpu task runs when the scheduler hands it a
batch (workers/runners/scheduling.py).

Whisper pads every window to 30 s, so a 3 s voicemail costs as much encoder time as 30 s of
speech. The jobs' recordings are packed into shared windows and decoded in one call, as
`swescribe transcribe --batch-size` packs files (workers/pipeline/batch.py); everything after
recognition (speakers, redaction, storing, completing, the webhook) is each job's own, so a
job fails alone, with its own reason, and the others complete. Each job shows its own stage
and progress, and its timings are its share of the batch's, by audio duration.

The jobs were started (claimed) by this worker before they got here: a worker killed mid-batch
leaves them running with a silent heartbeat, and the reconciler queues each of them again; the
completion of each is guarded by its attempt, so none is recorded twice.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from workers.intake.options import JobOptions
from workers.pipeline.batch import PackingOptions, transcribe_many
from workers.pipeline.cost import CostMeter, JobCost, share
from workers.pipeline.progress import ProgressHook
from workers.pipeline.run import DiarizationStep, StageHook, add_speakers, with_timing
from workers.pipeline.transcribe import TranscribeOptions
from workers.runners.configured_models import load_configured_model
from workers.runners.cost import configured_meter
from workers.runners.transcription import (
    LOAD_RANGE,
    PIPELINE_RANGE,
    ProgressWriter,
    WorkerContext,
    diarization_step,
    failed_permanently,
    finish_failed,
    finish_job,
    heartbeat,
    interrupted_too_often,
    job_options,
)
from workers.store.db import Job
from workers.transcript.audio import decode_audio
from workers.transcript.errors import PermanentError
from workers.transcript.types import DecodedAudio, Transcript

logger = logging.getLogger(__name__)


@dataclass
class _Member:
    """One job of the batch, with what it needs after recognition."""

    job: Job
    options: JobOptions
    progress: ProgressWriter
    meter: CostMeter  # the job's own stages; the batch's shared ones are metered apart
    path: Path | None = None
    audio: DecodedAudio | None = None
    decode_s: float = 0.0


def run_batch(claimed: list[Job], ctx: WorkerContext, packing: PackingOptions) -> None:
    """Recognise the claimed jobs' recordings together, then finish each job on its own.

    The jobs share one set of recognition options (the scheduler batches only jobs whose
    model, language, prompt and hotwords agree). PermanentErrors fail the job they belong to,
    or every job when they come from the shared part (the model); TransientErrors propagate,
    for the task to queue the batch's jobs again."""
    members: list[_Member] = []
    recognition: TranscribeOptions | None = None
    for job in claimed:
        if interrupted_too_often(ctx, job) or (parsed := job_options(ctx, job)) is None:
            continue
        options, recognition = parsed
        members.append(_Member(job, options, ProgressWriter(ctx, job.id), configured_meter(ctx.settings)))
    if not members or recognition is None:
        return
    with heartbeat(ctx, {m.job.id: m.job.attempts for m in members}):
        _run_members(members, recognition, ctx, packing)


def _run_members(members: list[_Member], recognition: TranscribeOptions, ctx: WorkerContext, packing: PackingOptions) -> None:
    batch_id = members[0].job.batch_id
    # The batch's own stages (loading, recognition), shared out by audio duration; the meters
    # of the batch and of its jobs never run at the same time (process CPU time would count
    # twice).
    shared = configured_meter(ctx.settings)
    started = time.perf_counter()
    for m in members:
        m.progress.enter("load_model", LOAD_RANGE[0])
    try:
        with shared.stage("load_model"):
            model = load_configured_model(members[0].options.model or ctx.settings.asr_model, ctx.settings)
            diarizations = {m.job.id: diarization_step(ctx, m.options) for m in members}
    except PermanentError as e:
        for m in members:
            failed_permanently(ctx, m.job, e)
        return
    load_s = time.perf_counter() - started

    with contextlib.ExitStack() as copies:
        for m in members:
            _decode(m, copies, ctx)
        decoded = [m for m in members if m.audio is not None]
        if not decoded:
            return
        hooks = [m.progress.pipeline_stages(diarizations[m.job.id] is not None) for m in decoded]
        transcribe_hooks = [hook("transcribe") for hook in hooks]
        audios = [m.audio for m in decoded if m.audio is not None]
        logger.info("batch %s: %d jobs, %.1f s of audio", batch_id, len(audios), sum(a.duration_s for a in audios))
        with shared.stage("transcribe"):
            transcripts = transcribe_many(
                model,
                audios,
                recognition,
                packing,
                on_progress=lambda value: _each(transcribe_hooks, value),
            )
        shares = share(shared.cost(), [a.duration_s for a in audios])
        for m, hook, transcript, part in zip(decoded, hooks, transcripts, shares, strict=True):
            _finish_member(m, transcript, diarizations[m.job.id], hook, load_s / len(decoded), part, ctx)


def _each(hooks: list[ProgressHook], value: float) -> None:
    for hook in hooks:
        hook(value)


def _decode(member: _Member, copies: contextlib.ExitStack, ctx: WorkerContext) -> None:
    """The job's local copy and decoded audio; a recording that cannot be decoded fails its
    job only."""
    member.progress.enter("decode", PIPELINE_RANGE[0])
    started = time.perf_counter()
    try:
        with member.meter.stage("decode"):
            member.path = copies.enter_context(ctx.storage.local_copy(member.job.audio_key))
            member.audio = decode_audio(member.path, ctx.settings.max_audio_hours * 3600)
    except PermanentError as e:
        failed_permanently(ctx, member.job, e)
        return
    member.decode_s = time.perf_counter() - started


def _finish_member(
    member: _Member,
    transcript: Transcript,
    diarization: DiarizationStep | None,
    on_stage: StageHook,
    load_s: float,
    shared_cost: JobCost,
    ctx: WorkerContext,
) -> None:
    job = member.job
    assert member.audio is not None and member.path is not None
    try:
        if diarization is not None:
            with member.meter.stage("diarize"):
                transcript = add_speakers(transcript, member.audio, diarization, on_stage("diarize"))
        transcript = with_timing(transcript, "decode", member.decode_s)
        timings = {"load_model": round(load_s, 3)}
        finish_job(ctx, job, member.options, transcript, member.path, timings, member.progress, member.meter, shared_cost)
    except PermanentError as e:
        failed_permanently(ctx, job, e)
    except Exception as e:  # noqa: BLE001 - one job's failure must not take the batch's others with it
        logger.exception("job %s: unexpected error after recognition in batch %s", job.id, job.batch_id)
        finish_failed(ctx, job.id, "internal_error", f"{type(e).__name__}: {e}")
