"""The gpu queue's task. Retries transient errors with backoff; the runner does the work."""

from __future__ import annotations

import functools
import logging

from celery.exceptions import SoftTimeLimitExceeded

from .. import jobs
from ..celery_app import TRANSCRIBE_TASK, app
from ..db import session_factory
from ..job_runner import WorkerContext, run_transcription_job
from ..pipeline.errors import TransientError
from ..settings import get_settings
from ..storage import storage_from_settings

logger = logging.getLogger(__name__)

MAX_RETRIES = 5
RETRY_BASE_S = 30
RETRY_MAX_S = 900


@functools.lru_cache
def worker_context() -> WorkerContext:
    settings = get_settings()
    return WorkerContext(settings, session_factory(settings.sqlalchemy_url), storage_from_settings(settings))


@app.task(name=TRANSCRIBE_TASK, bind=True, max_retries=MAX_RETRIES)
def transcribe_job(self, job_id: str) -> None:
    ctx = worker_context()
    try:
        run_transcription_job(job_id, ctx)
    except TransientError as e:
        if self.request.retries >= MAX_RETRIES:
            jobs.fail_job(ctx.sessions, job_id, e.code, f"{e} (gave up after {MAX_RETRIES} retries)")
            return
        jobs.requeue_job(ctx.sessions, job_id, f"retrying: {e}")
        raise self.retry(exc=e, countdown=min(RETRY_MAX_S, RETRY_BASE_S * 2**self.request.retries))
    except SoftTimeLimitExceeded:
        jobs.fail_job(ctx.sessions, job_id, "time_limit", "the job took longer than the configured time limit")
    except Exception as e:  # noqa: BLE001 - a job must never stay "running" after its task ended
        logger.exception("job %s: unexpected error", job_id)
        jobs.fail_job(ctx.sessions, job_id, "internal_error", f"{type(e).__name__}: {e}")
