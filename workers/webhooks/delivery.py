"""One attempt of one delivery: claim it, send it signed, record the attempt, decide what next."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from ..db import as_utc, utcnow
from . import store
from .retry_policy import Outcome, RetryPolicy, classify
from .sender import send
from .url_guard import UrlPolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOptions:
    """timeout_s: per request (the receiver must answer within it).
    lease_s: how long one attempt holds a delivery before another may take it."""

    url_policy: UrlPolicy = UrlPolicy()
    retry: RetryPolicy = RetryPolicy()
    timeout_s: float = 10.0
    lease_s: float = 120.0


def deliver_once(sessions: sessionmaker, delivery_id: str, options: DeliveryOptions, rng: random.Random = random.Random()) -> float | None:
    """Attempt the delivery if it is due; return seconds until it should be tried again, or None."""
    delivery = store.claim(sessions, delivery_id, timedelta(seconds=options.lease_s))
    if delivery is None:
        return None
    endpoint = store.get_endpoint(sessions, delivery.owner)
    if endpoint is None:
        store.record_attempt(sessions, delivery.id, None, 0, "the API key has no webhook secret", "failed", None)
        return None
    if delivery.to_default_endpoint and endpoint.disabled_at is not None:
        store.record_attempt(sessions, delivery.id, None, 0, f"endpoint disabled: {endpoint.disabled_reason}", "failed", None)
        return None

    result = send(delivery.url, endpoint.secret, delivery.message_id, delivery.payload.encode("utf-8"), options.url_policy, options.timeout_s)
    outcome = Outcome.failed if result.refused else classify(result.status_code)
    delay = None
    if outcome is Outcome.retry:
        age_s = (utcnow() - as_utc(delivery.created_at)).total_seconds()
        delay = options.retry.next_delay_s(delivery.attempts + 1, age_s, rng)
    status = {
        Outcome.delivered: "delivered",
        Outcome.failed: "failed",
        Outcome.endpoint_gone: "endpoint_gone",
        Outcome.retry: store.PENDING if delay is not None else "abandoned",
    }[outcome]
    next_at = utcnow() + timedelta(seconds=delay) if delay is not None else None
    store.record_attempt(sessions, delivery.id, result.status_code, result.latency_ms, result.error, status, next_at)
    if outcome is Outcome.endpoint_gone and delivery.to_default_endpoint:
        store.disable_endpoint(sessions, delivery.owner, f"{delivery.url} answered 410 Gone")
    logger.info("webhook %s to %s: %s (%s)", delivery.message_id, delivery.url, status, result.error or result.status_code)
    return delay
