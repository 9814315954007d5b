"""One attempt of one delivery: claim it, send it signed, record the attempt, decide what next."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from workers.store.db import DeliveryStatus, WebhookDelivery, WebhookEndpoint, as_utc, utcnow
from workers.webhooks import store
from workers.webhooks.retry_policy import SYSTEM_RANDOM, Outcome, RetryPolicy, classify
from workers.webhooks.sender import send
from workers.webhooks.url_guard import UrlPolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOptions:
    """timeout_s: the whole of one attempt (connect, send, the receiver's status and headers).
    lease_s: how long one attempt holds a delivery before another may take it."""

    url_policy: UrlPolicy = UrlPolicy()
    retry: RetryPolicy = RetryPolicy()
    timeout_s: float = 10.0
    lease_s: float = 120.0


_STATUS = {
    Outcome.delivered: DeliveryStatus.delivered,
    Outcome.failed: DeliveryStatus.failed,
    Outcome.endpoint_gone: DeliveryStatus.endpoint_gone,
}


def deliver_once(
    sessions: sessionmaker, delivery_id: str, options: DeliveryOptions, rng: random.Random = SYSTEM_RANDOM
) -> float | None:
    """Attempt the delivery if it is due; return seconds until it should be tried again, or None."""
    delivery = store.claim(sessions, delivery_id, timedelta(seconds=options.lease_s))
    if delivery is None:
        return None
    endpoint = store.get_endpoint(sessions, delivery.owner)
    if endpoint is None:
        store.record_attempt(sessions, delivery.id, None, 0, "the API key has no webhook secret", DeliveryStatus.failed, None)
        return None
    if delivery.to_default_endpoint and endpoint.disabled_at is not None:
        store.record_attempt(
            sessions, delivery.id, None, 0, f"endpoint disabled: {endpoint.disabled_reason}", DeliveryStatus.failed, None
        )
        return None

    result = send(
        delivery.url,
        signing_secrets(endpoint),
        delivery.message_id,
        delivery.payload.encode("utf-8"),
        options.url_policy,
        options.timeout_s,
    )
    outcome = Outcome.failed if result.refused else classify(result.status_code)
    delay = _retry_delay(delivery, options.retry, rng) if outcome is Outcome.retry else None
    status = _STATUS.get(outcome) or (DeliveryStatus.pending if delay is not None else DeliveryStatus.abandoned)
    next_at = utcnow() + timedelta(seconds=delay) if delay is not None else None
    store.record_attempt(sessions, delivery.id, result.status_code, result.latency_ms, result.error, status, next_at)
    if outcome is Outcome.endpoint_gone:
        _url_gone(sessions, delivery, endpoint)
    logger.info("webhook %s to %s: %s (%s)", delivery.message_id, delivery.url, status, result.error or result.status_code)
    return delay


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the one before it until it is retired (a rotation's overlap)."""
    return [endpoint.secret] + ([endpoint.previous_secret] if endpoint.previous_secret else [])


def _retry_delay(delivery: WebhookDelivery, retry: RetryPolicy, rng: random.Random) -> float | None:
    """The retry window runs from the event, or from the last redelivery asked for."""
    window_start = as_utc(delivery.redelivered_at or delivery.created_at)
    return retry.next_delay_s(delivery.attempts + 1, (utcnow() - window_start).total_seconds(), rng)


def _url_gone(sessions: sessionmaker, delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> None:
    """A 410 says the URL is gone for good. This delivery is finished (never retried); the
    owner's other deliveries waiting for that URL are finished unsent; if it is the owner's
    default URL, that is disabled until set again. A job uploaded later naming the same URL
    as its webhook_url is still sent: the client asked for that URL again."""
    reason = f"{delivery.url} answered 410 Gone"
    ended = store.end_pending_to(sessions, delivery.owner, delivery.url, reason)
    if delivery.to_default_endpoint or endpoint.url == delivery.url:
        store.disable_endpoint(sessions, delivery.owner, reason)
    if ended:
        logger.info("webhook URL %s is gone: %d pending deliveries to it ended unsent", delivery.url, ended)
