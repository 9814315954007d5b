"""The cpu queue's summarize task: a job id in, the summary runner does the work.

Retries of the LLM request happen inside the runner (bounded, with backoff), not as Celery
countdowns, so a summary always ends completed or failed within one task.
"""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded

from workers.runners.summary import finish_summary_failed, run_summary_job
from workers.tasks.celery_app import app
from workers.tasks.names import SUMMARIZE_TASK
from workers.tasks.transcription import worker_context

logger = logging.getLogger(__name__)


@app.task(name=SUMMARIZE_TASK, ignore_result=True)
def summarize_job(job_id: str) -> None:
    ctx = worker_context()
    try:
        run_summary_job(job_id, ctx)
    except SoftTimeLimitExceeded:
        finish_summary_failed(ctx, job_id, "time_limit", "the summary took longer than the configured time limit")
    except Exception as e:  # noqa: BLE001 - a summary must never stay "running" after its task ended
        logger.exception("job %s: unexpected error in the summary", job_id)
        finish_summary_failed(ctx, job_id, "internal_error", f"{type(e).__name__}: {e}")
