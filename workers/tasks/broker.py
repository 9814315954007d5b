"""What the Redis broker holds: the job ids that have a transcription message in it.

Celery has no API that lists a queue's waiting messages, so this reads kombu's Redis layout
(stable across kombu 4 and 5): each queue is a list named after it (priority levels in lists
"<queue>\\x06\\x16<n>"), and messages delivered but not yet acknowledged sit in the hash
"unacked" as [message, exchange, routing key].
"""

from __future__ import annotations

import base64
import json
import logging

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from workers.tasks.names import GPU_QUEUE, TRANSCRIBE_TASK

logger = logging.getLogger(__name__)
TIMEOUT_S = 5.0


def transcription_job_ids(redis_url: str, queue: str = GPU_QUEUE) -> set[str]:
    """Job ids with a transcription message waiting in `queue` or held by a worker."""
    client = redis.Redis.from_url(redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        lists = [queue, *(f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step)]
        messages = [raw for name in lists for raw in client.lrange(name, 0, -1)]
        held = [_first(raw) for raw in client.hvals(Channel.unacked_key)]
    finally:
        client.close()
    return {job_id for raw in [*messages, *held] if (job_id := _job_id(raw)) is not None}


def _first(raw: bytes) -> bytes | dict | None:
    try:
        return json.loads(raw)[0]
    except (ValueError, TypeError, IndexError, KeyError):
        return None


def _job_id(raw: bytes | dict | None) -> str | None:
    """The job id a transcription message carries; None for any other message."""
    try:
        message = raw if isinstance(raw, dict) else json.loads(raw)
        if message["headers"]["task"] != TRANSCRIBE_TASK:
            return None
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(args[0])
    except (ValueError, TypeError, IndexError, KeyError):
        logger.debug("a broker message that is not a transcription task: skipped")
        return None
