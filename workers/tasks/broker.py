"""What the Redis broker holds: the jobs that have a transcription message in it, and since when.

Celery has no API that lists a queue's waiting messages, so this reads kombu's Redis layout
(stable across kombu 4 and 5): each queue is a list named after it (priority levels in lists
"<queue>\\x06\\x16<n>"), and messages delivered but not yet acknowledged sit in the hash
"unacked" as [message, exchange, routing key].
"""

from __future__ import annotations

import base64
import json
import logging
import math

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from workers.runners.reconcile import BrokerTickets
from workers.tasks.names import LANE_QUEUES, TRANSCRIBE_TASK

logger = logging.getLogger(__name__)
TIMEOUT_S = 5.0


def transcription_messages(redis_url: str, queues: tuple[str, ...] = LANE_QUEUES["all"]) -> BrokerTickets:
    """The transcription messages waiting in `queues` (both lanes) and held by workers: for
    each job, when its newest message got where it is, in epoch seconds (infinity for one
    waiting, the delivery time for one held: a dead worker's message stays held until the
    visibility timeout, so the caller compares it with the job's last sending)."""
    client = redis.Redis.from_url(redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
    try:
        waiting_raw = {queue: [raw for name in _lists(queue) for raw in client.lrange(name, 0, -1)] for queue in queues}
        held = client.hgetall(Channel.unacked_key)
        delivered = dict(client.zrange(Channel.unacked_index_key, 0, -1, withscores=True))
    finally:
        client.close()
    seen: dict[str, float] = {}
    for tag, raw in held.items():
        if (job_id := _job_id(_first(raw))) is not None:
            seen[job_id] = max(seen.get(job_id, 0.0), delivered.get(tag, 0.0))
    waiting: dict[str, list[str]] = {}
    for queue, messages in waiting_raw.items():
        waiting[queue] = [job_id for raw in messages if (job_id := _job_id(raw)) is not None]
        seen.update(dict.fromkeys(waiting[queue], math.inf))
    return BrokerTickets(seen, waiting)


def _lists(queue: str) -> list[str]:
    """The Redis lists of a queue: the queue's own and one per priority step."""
    return [queue, *(f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step)]


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
