"""The gpu queue's task. A message is a ticket: it runs the batch the scheduler picks from
the queued jobs (workers/runners/scheduling.py), which need not include the job it names.
Transient errors queue the batch's jobs again with backoff; the runners do the work."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from celery.exceptions import SoftTimeLimitExceeded

from workers.runners.batched import run_batch
from workers.runners.liveness import abandoned, current_worker, silent_since, worker_gone
from workers.runners.scheduling import BatchPolicy, Scheduler, lane_priorities
from workers.runners.transcription import WorkerContext, finish_failed, run_started
from workers.settings import get_settings
from workers.store import jobs, queue
from workers.store.db import JobStatus, session_factory
from workers.store.storage import StorageUnavailable, storage_from_settings
from workers.tasks.celery_app import app
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK, SUMMARIZE_TASK, TRANSCRIBE_TASK, send_ticket
from workers.transcript.errors import TransientError

logger = logging.getLogger(__name__)

RETRY_MAX_S = 900


def enqueue_delivery(delivery_id: str) -> None:
    app.send_task(DELIVER_WEBHOOK_TASK, args=[delivery_id], queue=CPU_QUEUE)


def enqueue_summary(job_id: str) -> None:
    app.send_task(SUMMARIZE_TASK, args=[job_id], queue=CPU_QUEUE)


def enqueue_retry(job_id: str, priority: int, delay_s: float) -> None:
    send_ticket(app, job_id, priority, countdown=delay_s)


@functools.lru_cache
def worker_context() -> WorkerContext:
    settings = get_settings()
    return WorkerContext(
        settings, session_factory(settings.sqlalchemy_url), storage_from_settings(settings), enqueue_delivery, enqueue_summary
    )


@app.task(name=TRANSCRIBE_TASK)
def transcribe_job(job_id: str) -> None:
    ctx = worker_context()
    named = jobs.get_job(ctx.sessions, job_id)
    stale_after_s = ctx.settings.job_stale_after_s
    if named is not None and named.status == JobStatus.running and abandoned(named, stale_after_s):
        # Delivered again after its worker died: back to the queue with the rest of its batch,
        # to be scheduled (and batched) like any other.
        since = None if worker_gone(named.worker) else silent_since(stale_after_s)
        for job in queue.abandoned_with(ctx.sessions, named):
            jobs.requeue_lost(ctx.sessions, job, since)
    # Every ticket schedules, whatever became of the job it names (done, running, in another's
    # batch): each one taken then claims a queued job while any is due, so the tickets do not
    # run out before the queued jobs do.
    policy = BatchPolicy.from_settings(ctx.settings)
    lane = lane_priorities(ctx.settings.gpu_lane)
    claimed = Scheduler(ctx.sessions, ctx.settings, policy, current_worker(), priorities=lane).take()
    if len(claimed) == 1:
        _guarded(ctx, [claimed[0].id], lambda: run_started(claimed[0], ctx))
    elif claimed:
        packing = policy.packing(batch_size=policy.windows)
        _guarded(ctx, [job.id for job in claimed], lambda: run_batch(claimed, ctx, packing))


def _guarded(ctx: WorkerContext, job_ids: list[str], work: Callable[[], None]) -> None:
    """Run `work` on the jobs this worker claimed; whatever escapes it ends or requeues each
    of them that this worker still runs (jobs it already finished stay finished)."""
    try:
        work()
    except (TransientError, StorageUnavailable) as e:
        _retry_later(ctx, job_ids, e)
    except SoftTimeLimitExceeded:
        for job_id in job_ids:
            finish_failed(ctx, job_id, "time_limit", "the job took longer than the configured time limit")
    except Exception as e:  # noqa: BLE001 - a job must never stay "running" after its task ended
        logger.exception("jobs %s: unexpected error", job_ids)
        for job_id in job_ids:
            finish_failed(ctx, job_id, "internal_error", f"{type(e).__name__}: {e}")


def _retry_later(ctx: WorkerContext, job_ids: list[str], error: Exception) -> None:
    """Queue each job again with exponential backoff by the attempts it has had, and send its
    ticket for when it is due; past `task_max_retries` retries, fail it with the reason."""
    settings, me = ctx.settings, current_worker()
    code = getattr(error, "code", "storage_unavailable")
    for job_id in job_ids:
        job = jobs.get_job(ctx.sessions, job_id)
        if job is None or job.status != JobStatus.running or job.worker != me:
            continue
        retries = max(job.attempts - 1, 0)
        if retries >= settings.task_max_retries:
            finish_failed(ctx, job_id, code, f"{error} (gave up after {settings.task_max_retries} retries)")
            continue
        delay_s = min(RETRY_MAX_S, settings.task_retry_base_s * 2**retries)
        jobs.requeue_job(ctx.sessions, job_id, f"retrying: {error}", retry_in_s=delay_s)
        try:
            enqueue_retry(job_id, job.priority, delay_s)
        except Exception:  # noqa: BLE001 - the reconciler sends it once it is due and has no ticket
            logger.warning("job %s: its retry could not be queued yet", job_id, exc_info=True)
