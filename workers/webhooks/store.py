"""Webhook endpoints, deliveries and attempts in the job database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from workers.store.db import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from workers.webhooks.signing import new_message_id, new_secret


def get_endpoint(sessions: sessionmaker, owner: str) -> WebhookEndpoint | None:
    with sessions() as session:
        return session.get(WebhookEndpoint, owner)


def set_endpoint(sessions: sessionmaker, owner: str, url: str | None) -> tuple[WebhookEndpoint, bool]:
    """Set the owner's default URL (None: per-job URLs only); re-enables a disabled endpoint.
    Returns (endpoint, created): the secret is new only when created."""
    with sessions() as session:
        endpoint = session.get(WebhookEndpoint, owner)
        created = endpoint is None
        if created:
            endpoint = WebhookEndpoint(owner=owner, secret=new_secret(), created_at=utcnow())
            session.add(endpoint)
        endpoint.url, endpoint.disabled_at, endpoint.disabled_reason = url, None, None
        session.commit()
        return endpoint, created


def rotate_secret(sessions: sessionmaker, owner: str) -> WebhookEndpoint | None:
    """A new signing secret; the current one becomes the previous one and deliveries are signed
    with both until `retire_previous_secret`. A secret still in its overlap is replaced by this
    one's predecessor (at most two are ever valid). None if the owner has no endpoint."""
    with sessions() as session:
        endpoint = session.get(WebhookEndpoint, owner)
        if endpoint is None:
            return None
        endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
        session.commit()
        return endpoint


def retire_previous_secret(sessions: sessionmaker, owner: str) -> bool:
    """End a rotation's overlap: only the current secret signs from now on. False if there was
    no previous secret."""
    with sessions() as session:
        result = session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.owner == owner, WebhookEndpoint.previous_secret.is_not(None))
            .values(previous_secret=None)
        )
        session.commit()
        return bool(result.rowcount)


def disable_endpoint(sessions: sessionmaker, owner: str, reason: str) -> None:
    with sessions() as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.owner == owner).values(disabled_at=utcnow(), disabled_reason=reason)
        )
        session.commit()


def create_delivery(
    sessions: sessionmaker, *, job_id: str, owner: str, event: str, url: str, payload: str, to_default_endpoint: bool
) -> str:
    delivery = WebhookDelivery(
        message_id=new_message_id(),
        job_id=job_id,
        owner=owner,
        event=event,
        url=url,
        payload=payload,
        to_default_endpoint=to_default_endpoint,
        status=DeliveryStatus.pending,
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    with sessions() as session:
        session.add(delivery)
        session.commit()
        return delivery.id


def claim(sessions: sessionmaker, delivery_id: str, lease: timedelta) -> WebhookDelivery | None:
    """Take a due delivery for one attempt; None if it is not due, finished or taken.

    The lease moves next_attempt_at forward, so a duplicate task (or the sweeper) finds it not
    due while this attempt runs; if this worker dies, the delivery is due again after the lease.
    """
    now = utcnow()
    with sessions() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + lease)
        )
        session.commit()
        return session.get(WebhookDelivery, delivery_id) if result.rowcount else None


def record_attempt(
    sessions: sessionmaker,
    delivery_id: str,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
    new_status: str,
    next_attempt_at: datetime | None,
) -> None:
    with sessions() as session:
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id, attempted_at=utcnow(), status_code=status_code, latency_ms=latency_ms, error=error
            )
        )
        finished = new_status != DeliveryStatus.pending
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                status=new_status,
                attempts=WebhookDelivery.attempts + 1,
                last_error=error,
                next_attempt_at=None if finished else next_attempt_at,
                finished_at=utcnow() if finished else None,
            )
        )
        session.commit()


def due(sessions: sessionmaker, limit: int = 500) -> list[str]:
    """Pending deliveries whose time has come (for the sweeper that re-sends lost tasks)."""
    with sessions() as session:
        rows = session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= utcnow())
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        )
        return list(rows)


def for_job(sessions: sessionmaker, job_id: str) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    with sessions() as session:
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.job_id == job_id).order_by(WebhookDelivery.created_at)
        ).all()
        return [
            (
                d,
                list(
                    session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == d.id).order_by(WebhookAttempt.id))
                ),
            )
            for d in deliveries
        ]


def redeliver(sessions: sessionmaker, job_id: str) -> list[str]:
    """Make the job's deliveries pending again, due now, with their original webhook-id.
    created_at stays the time of the event; redelivered_at records this request."""
    now = utcnow()
    with sessions() as session:
        ids = list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.job_id == job_id)))
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.job_id == job_id)
            .values(status=DeliveryStatus.pending, next_attempt_at=now, finished_at=None, redelivered_at=now)
        )
        session.commit()
        return ids


def rewrite_payloads(sessions: sessionmaker, job_id: str, rewrite: Callable[[str], str]) -> None:
    """Each of the job's delivery bodies replaced by `rewrite(body)` (before a redelivery)."""
    with sessions() as session:
        for delivery in session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)):
            delivery.payload = rewrite(delivery.payload)
        session.commit()


def end_pending_to(sessions: sessionmaker, owner: str, url: str, reason: str) -> int:
    """Finish the owner's pending deliveries to `url` as endpoint_gone, unsent; how many."""
    with sessions() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.owner == owner, WebhookDelivery.url == url, WebhookDelivery.status == DeliveryStatus.pending)
            .values(status=DeliveryStatus.endpoint_gone, last_error=reason, next_attempt_at=None, finished_at=utcnow())
        )
        session.commit()
        return result.rowcount


def delete_for_job(sessions: sessionmaker, job_id: str) -> None:
    """Deliveries carry the transcript: they go with the job."""
    with sessions() as session:
        delete_for_job_in(session, job_id)
        session.commit()


def delete_for_job_in(session: Session, job_id: str) -> None:
    """The same inside a transaction of the caller's (the purge's), which commits it."""
    ids = select(WebhookDelivery.id).where(WebhookDelivery.job_id == job_id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.job_id == job_id))
