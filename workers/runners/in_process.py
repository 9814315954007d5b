"""The queues' work run in this process instead of by Celery workers: for `swescribe ingest
--local`, where one machine without a running service transcribes a folder.

The same runners as the workers (jobs, summaries, webhook deliveries) on the same database and
storage, so the folder's results, job rows and events are exactly what the service would make;
only the broker is left out. Transient errors are not retried later (there is no queue to wait
in): the job fails with the reason, and the folder's next run tries the recording again.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy.orm import sessionmaker

from workers.runners.summary import finish_summary_failed, run_summary_job
from workers.runners.transcription import WorkerContext, finish_failed, run_transcription_job
from workers.settings import Settings
from workers.store.storage import Storage, StorageUnavailable
from workers.transcript.errors import TransientError

logger = logging.getLogger(__name__)


@dataclass
class InProcessQueues:
    """Work queued by the runners, done in order by `run_pending`."""

    settings: Settings
    sessions: sessionmaker
    storage: Storage
    transcriptions: deque[str] = field(default_factory=deque)
    summaries: deque[str] = field(default_factory=deque)
    deliveries: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.context = WorkerContext(self.settings, self.sessions, self.storage, self.deliveries.append, self.summaries.append)

    def enqueue_transcription(self, job_id: str, _priority: int) -> None:
        # One process, one lane: jobs run in the order they were queued.
        self.transcriptions.append(job_id)

    def run_pending(self) -> None:
        """Everything queued so far, and whatever that queues in turn."""
        while self.transcriptions or self.summaries or self.deliveries:
            if self.transcriptions:
                self._transcribe(self.transcriptions.popleft())
            elif self.summaries:
                self._summarize(self.summaries.popleft())
            else:
                self._deliver(self.deliveries.popleft())

    def _transcribe(self, job_id: str) -> None:
        try:
            run_transcription_job(job_id, self.context)
        except (TransientError, StorageUnavailable) as e:
            finish_failed(self.context, job_id, getattr(e, "code", "storage_unavailable"), f"{e} (run in-process: not retried)")
        except Exception as e:  # noqa: BLE001 - as in the worker: a job never stays running
            logger.exception("job %s: unexpected error", job_id)
            finish_failed(self.context, job_id, "internal_error", f"{type(e).__name__}: {e}")

    def _summarize(self, job_id: str) -> None:
        try:
            run_summary_job(job_id, self.context)
        except Exception as e:  # noqa: BLE001 - the summary fails, never the job
            logger.exception("job %s: summary failed", job_id)
            finish_summary_failed(self.context, job_id, "internal_error", f"{type(e).__name__}: {e}")

    def _deliver(self, delivery_id: str) -> None:
        # One attempt now; a delivery that must be retried stays pending in the database for a
        # cpu worker's sweeper, if one runs later.
        from workers.tasks.webhooks import delivery_options
        from workers.webhooks.delivery import deliver_once

        deliver_once(self.sessions, delivery_id, delivery_options(self.settings))
