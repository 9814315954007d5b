"""The reconciler as the cpu worker runs it: a daemon thread, like the webhook sweeper, that
puts back on the queue the jobs the broker has lost (workers/runners/reconcile.py says which)."""

from __future__ import annotations

import logging
import threading

from workers.runners.reconcile import Reconciled, ReconcileOptions, reconcile
from workers.settings import Settings
from workers.store.db import session_factory
from workers.tasks.broker import transcription_messages
from workers.tasks.celery_app import app
from workers.tasks.names import SendTicket, send_ticket

logger = logging.getLogger(__name__)


def send_transcription(job_id: str, priority: int) -> None:
    send_ticket(app, job_id, priority)


def reconcile_once(settings: Settings, send: SendTicket = send_transcription, resend_after_s: float | None = None) -> Reconciled:
    """One pass against the settings' database and broker. `resend_after_s` defaults to the
    staleness bound; `swescribe up` passes 0 at start, when nothing can be on its way."""
    options = ReconcileOptions(
        stale_after_s=settings.job_stale_after_s,
        resend_after_s=settings.job_stale_after_s if resend_after_s is None else resend_after_s,
    )
    return reconcile(session_factory(settings.sqlalchemy_url), send, lambda: transcription_messages(settings.redis_url), options)


def start_reconciler(settings: Settings) -> threading.Thread:
    """A daemon thread that runs a pass every `reconcile_interval_s`."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(settings.reconcile_interval_s):
            try:
                reconcile_once(settings)
            except Exception:  # noqa: BLE001 - a database or broker hiccup must not end the reconciler
                logger.exception("reconciling jobs failed; trying again")

    thread = threading.Thread(target=loop, name="job-reconciler", daemon=True)
    thread.start()
    return thread
