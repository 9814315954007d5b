"""The gpu queue's task. Retries transient errors with backoff; the runner does the work."""

from __future__ import annotations

import functools
import logging

from celery.exceptions import SoftTimeLimitExceeded

from workers.runners.transcription import WorkerContext, finish_failed, run_transcription_job
from workers.settings import get_settings
from workers.store import jobs
from workers.store.db import session_factory
from workers.store.storage import StorageUnavailable, storage_from_settings
from workers.tasks.celery_app import app
from workers.tasks.names import CPU_QUEUE, DELIVER_WEBHOOK_TASK, SUMMARIZE_TASK, TRANSCRIBE_TASK
from workers.transcript.errors import TransientError

logger = logging.getLogger(__name__)

RETRY_MAX_S = 900


def enqueue_delivery(delivery_id: str) -> None:
    app.send_task(DELIVER_WEBHOOK_TASK, args=[delivery_id], queue=CPU_QUEUE)


def enqueue_summary(job_id: str) -> None:
    app.send_task(SUMMARIZE_TASK, args=[job_id], queue=CPU_QUEUE)


@functools.lru_cache
def worker_context() -> WorkerContext:
    settings = get_settings()
    return WorkerContext(
        settings, session_factory(settings.sqlalchemy_url), storage_from_settings(settings), enqueue_delivery, enqueue_summary
    )


@app.task(name=TRANSCRIBE_TASK, bind=True, max_retries=None)
def transcribe_job(self, job_id: str) -> None:
    ctx = worker_context()
    settings = ctx.settings
    try:
        run_transcription_job(job_id, ctx)
    except (TransientError, StorageUnavailable) as e:
        if self.request.retries >= settings.task_max_retries:
            code = getattr(e, "code", "storage_unavailable")
            finish_failed(ctx, job_id, code, f"{e} (gave up after {settings.task_max_retries} retries)")
            return
        delay_s = min(RETRY_MAX_S, settings.task_retry_base_s * 2**self.request.retries)
        jobs.requeue_job(ctx.sessions, job_id, f"retrying: {e}", retry_in_s=delay_s)
        raise self.retry(exc=e, countdown=delay_s) from e
    except SoftTimeLimitExceeded:
        finish_failed(ctx, job_id, "time_limit", "the job took longer than the configured time limit")
    except Exception as e:  # noqa: BLE001 - a job must never stay "running" after its task ended
        logger.exception("job %s: unexpected error", job_id)
        finish_failed(ctx, job_id, "internal_error", f"{type(e).__name__}: {e}")
