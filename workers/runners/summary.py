"""One summary, from a job id to a stored summary document: what the cpu queue's summarize task runs.

The job is already completed with its transcript; nothing here can change that. Whatever goes
wrong (LLM down, timing out, answering nonsense after the bounded retries, storage trouble)
ends as summary status failed with a reason. Idempotent like the transcription runner: a
finished summary is left alone, a running one is taken over, completion is a guarded update.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from filelock import FileLock

from workers.runners.transcription import WorkerContext
from workers.settings import Settings
from workers.store import jobs
from workers.store.storage import ObjectNotFound, StorageError
from workers.summary.client import loggable
from workers.summary.configured import endpoint_from_settings, options_from_settings
from workers.summary.embedded_server import EmbeddedServerError
from workers.summary.summarize import summarize_transcript
from workers.transcript.errors import PipelineError
from workers.transcript.formats import transcript_from_json
from workers.webhooks.notify import notify_job_finished

logger = logging.getLogger(__name__)

# A summary whose task keeps dying with its worker (out of memory, killed) is given up.
SUMMARY_ATTEMPTS_ALLOWED = 3


@contextlib.contextmanager
def llm_turn(settings: Settings) -> Iterator[None]:
    """Wait for this host's other summaries when the endpoint takes one request at a time
    (SWESCRIBE_LLM_ONE_AT_A_TIME); otherwise no wait. The lock is released when the process
    dies, so a killed worker never leaves it taken."""
    if not settings.llm_one_at_a_time:
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # No timeout: a summary waits its turn however long the one before it takes.
    with FileLock(settings.data_dir / "llm.lock"):
        yield


def finish_summary_failed(ctx: WorkerContext, job_id: str, code: str, message: str) -> None:
    if jobs.fail_summary(ctx.sessions, job_id, code, message):
        notify_job_finished(ctx.sessions, ctx.storage, ctx.settings, job_id, ctx.enqueue_delivery)


def run_summary_job(job_id: str, ctx: WorkerContext, progress: Callable[[float], None] = lambda _f: None) -> None:
    job = jobs.claim_summary(ctx.sessions, job_id)
    if job is None:
        logger.info("job %s: no summary to make (not asked for, finished, or job gone)", job_id)
        return
    if job.summary_attempts > SUMMARY_ATTEMPTS_ALLOWED:
        finish_summary_failed(
            ctx,
            job_id,
            "too_many_attempts",
            f"the summary was interrupted {job.summary_attempts - 1} times (worker killed or out of memory)",
        )
        return
    key = jobs.summary_key(job_id)
    try:
        transcript = transcript_from_json(ctx.storage.read_bytes(job.transcript_key).decode("utf-8"))
        with llm_turn(ctx.settings):
            summary = summarize_transcript(
                transcript, endpoint_from_settings(ctx.settings), options_from_settings(ctx.settings), progress
            )
        ctx.storage.save_bytes(key, summary.model_dump_json(indent=2).encode("utf-8"))
    except PipelineError as e:
        logger.warning("job %s: summary failed: %s", job_id, loggable(e))
        finish_summary_failed(ctx, job_id, e.code, str(e))
        return
    except EmbeddedServerError as e:
        finish_summary_failed(ctx, job_id, "llm_not_configured", str(e))
        return
    except ObjectNotFound:
        finish_summary_failed(ctx, job_id, "transcript_gone", "the transcript is no longer stored")
        return
    except StorageError as e:
        finish_summary_failed(ctx, job_id, "storage_unavailable", f"cannot read the transcript or store the summary: {e}")
        return
    except ValueError as e:  # settings that leave no room for the transcript, a damaged transcript
        finish_summary_failed(ctx, job_id, "invalid_input", str(e))
        return

    if jobs.complete_summary(ctx.sessions, job_id, key):
        notify_job_finished(ctx.sessions, ctx.storage, ctx.settings, job_id, ctx.enqueue_delivery)
        return
    if jobs.get_job(ctx.sessions, job_id) is None:
        ctx.storage.delete_prefix(jobs.job_prefix(job_id))  # deleted while it ran
    logger.info("job %s: summary finished elsewhere or job deleted; result not recorded", job_id)
