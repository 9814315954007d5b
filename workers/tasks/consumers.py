"""Which workers consume a queue, asked of the workers themselves over the broker.

`swescribe ingest` asks before it takes recordings, so a folder is not queued into a gpu queue
nobody reads (it would wait forever), and again while it waits for results.
"""

from __future__ import annotations

import logging

from celery import Celery

logger = logging.getLogger(__name__)


def consumers_by_queue(celery: Celery, timeout_s: float = 2.0) -> dict[str, list[str]] | None:
    """Queue -> names of the workers consuming it now (empty: no worker answered); None when the
    broker itself cannot be reached."""
    try:
        replies = celery.control.inspect(timeout=timeout_s).active_queues() or {}
    except Exception as e:  # noqa: BLE001 - kombu and redis raise many connection error types
        logger.warning("cannot ask the broker which workers consume which queue: %s", e)
        return None
    found: dict[str, list[str]] = {}
    for worker, queues in sorted(replies.items()):
        for queue in queues or ():
            found.setdefault(queue.get("name"), []).append(worker)
    return found
