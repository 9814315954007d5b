"""Which workers consume a queue, asked of the workers themselves over the broker.

`swescribe ingest` asks before it takes recordings, so a folder is not queued into a gpu queue
nobody reads (it would wait forever), and again while it waits for results.
"""

from __future__ import annotations

import logging

from celery import Celery

logger = logging.getLogger(__name__)


def queue_consumers(celery: Celery, queue: str, timeout_s: float = 2.0) -> list[str] | None:
    """Names of the workers consuming `queue` now (empty: none answered); None when the broker
    itself cannot be reached."""
    try:
        replies = celery.control.inspect(timeout=timeout_s).active_queues() or {}
    except Exception as e:  # noqa: BLE001 - kombu and redis raise many connection error types
        logger.warning("cannot ask the broker which workers consume %s: %s", queue, e)
        return None
    return sorted(worker for worker, queues in replies.items() if any(q.get("name") == queue for q in queues or ()))
