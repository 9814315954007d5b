"""Retention as the cpu worker runs it: a daemon thread, like the reconciler, that runs a purge
pass (workers/runners/purge.py) every `purge_interval_s`."""

from __future__ import annotations

import logging
import threading

from workers.runners.purge import Purged, PurgeOptions, purge
from workers.settings import Settings
from workers.store.db import session_factory
from workers.store.storage import storage_from_settings

logger = logging.getLogger(__name__)


def purge_once(settings: Settings) -> Purged:
    options = PurgeOptions(settings.retention_audio_hours, settings.retention_results_days)
    return purge(session_factory(settings.sqlalchemy_url), storage_from_settings(settings), options)


def start_purger(settings: Settings) -> threading.Thread:
    """A daemon thread: a pass soon after start, then every `purge_interval_s`."""
    stop = threading.Event()

    def loop() -> None:
        delay = min(60.0, settings.purge_interval_s)
        while not stop.wait(delay):
            delay = settings.purge_interval_s
            try:
                purge_once(settings)
            except Exception:  # noqa: BLE001 - a database or storage hiccup must not end retention
                logger.exception("the retention purge failed; trying again")

    thread = threading.Thread(target=loop, name="retention-purge", daemon=True)
    thread.start()
    return thread
