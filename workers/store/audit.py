"""The audit trail: append-only events, one hash chain per tenant.

Each event's `hash` is the SHA-256 of its own fields and the previous event's hash, so editing
a stored event, or deleting one from the middle of a chain, shows as a broken link
(`verify`, `swescribe audit verify`). Events name ids, actions and outcomes only: never
transcript text, summaries, file names or case references, which may be personal data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from workers.store.db import AuditEvent, as_utc, utcnow

GENESIS = "0" * 64
NO_TENANT = ""  # the chain of events no tenant can be named for (a failed authentication)
_APPEND_TRIES = 50


class Action:
    """The actions recorded (docs/governance.md lists them)."""

    JOB_CREATED = "job.created"
    TRANSCRIPT_READ = "transcript.read"
    SUMMARY_READ = "summary.read"
    AUDIO_READ = "audio.read"
    JOB_DELETED = "job.deleted"
    JOB_PURGED = "job.purged"
    HOLD_SET = "hold.set"
    HOLD_RELEASED = "hold.released"
    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    WEBHOOK_CHANGED = "webhook.changed"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
    WEBHOOK_SECRET_RETIRED = "webhook.secret_retired"
    RETENTION_CHANGED = "retention.changed"
    ADMIN_LISTED = "admin.listed"
    AUTH_FAILED = "auth.failed"
    TENANT_CREATED = "tenant.created"
    SPEAKERS_RENAMED = "speakers.renamed"
    REVISION_CREATED = "transcript.revised"


@dataclass(frozen=True)
class Entry:
    """What a caller records; the store adds the time, the position and the hashes."""

    action: str
    tenant_id: str | None
    key_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    outcome: str = "ok"
    client: str | None = None
    user_agent: str | None = None
    detail: dict = field(default_factory=dict)


def _chained_fields(event: AuditEvent) -> dict:
    """What an event's hash covers, as it is also exported: one list, so that a field added to
    the export is not left out of the chain."""
    # PostgreSQL hands back the session's time zone, SQLite a naive UTC time: one spelling.
    at = as_utc(event.at)
    return {
        "tenant_id": event.tenant_id,
        "seq": event.seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds") if at else None,
        "key_id": event.key_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "detail": event.detail or {},
        "client": event.client,
        "user_agent": event.user_agent,
        "outcome": event.outcome,
        "prev_hash": event.prev_hash,
    }


def _canonical(event: AuditEvent) -> bytes:
    """The hashed form: every field but the row id and the hash, in one fixed spelling."""
    return json.dumps(_chained_fields(event), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(sessions: sessionmaker, entry: Entry, at: datetime | None = None) -> AuditEvent:
    """Append `entry` to its tenant's chain. Two writers that read the same last link collide
    on the unique (tenant, seq); the loser reads the new last link and tries again."""
    chain = entry.tenant_id or NO_TENANT
    for _ in range(_APPEND_TRIES):
        with sessions() as session:
            last = session.scalar(
                select(AuditEvent).where(AuditEvent.tenant_id == chain).order_by(AuditEvent.seq.desc()).limit(1)
            )
            event = AuditEvent(
                tenant_id=chain,
                seq=(last.seq + 1) if last else 1,
                # Microseconds are what both databases keep, so the hash of a re-read row matches.
                at=(at or utcnow()),
                key_id=entry.key_id,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                detail=dict(entry.detail),
                client=(entry.client or None) and entry.client[:100],
                user_agent=(entry.user_agent or None) and entry.user_agent[:300],
                outcome=entry.outcome,
                prev_hash=last.hash if last else GENESIS,
            )
            event.hash = event_hash(event)
            session.add(event)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            return event
    raise RuntimeError(f"could not append to the audit chain of tenant {chain!r}: too much contention")


@dataclass(frozen=True)
class BrokenLink:
    tenant_id: str
    seq: int
    event_id: int | None
    reason: str


def verify(sessions: sessionmaker, tenant_id: str | None = None) -> tuple[int, list[BrokenLink]]:
    """(events checked, the first broken link of each chain). Checks each event's hash against
    its fields, its prev_hash against the event before it, and that no position is missing."""
    with sessions() as session:
        chains = (
            [tenant_id]
            if tenant_id is not None
            else list(session.scalars(select(AuditEvent.tenant_id).distinct().order_by(AuditEvent.tenant_id)))
        )
    checked, broken = 0, []
    for chain in chains:
        expected_seq, prev = 1, GENESIS
        for event in _chain(sessions, chain):
            checked += 1
            problem = None
            if event.seq != expected_seq:
                problem = f"events {expected_seq}..{event.seq - 1} are missing (deleted)"
            elif event.prev_hash != prev:
                problem = "prev_hash does not match the event before it"
            elif event_hash(event) != event.hash:
                problem = "the event's fields do not match its hash (edited)"
            if problem:
                broken.append(BrokenLink(chain, expected_seq, event.id, problem))
                break
            expected_seq, prev = event.seq + 1, event.hash
    return checked, broken


def _chain(sessions: sessionmaker, chain: str, page: int = 1000) -> Iterator[AuditEvent]:
    after = 0
    while True:
        with sessions() as session:
            rows = list(
                session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.tenant_id == chain, AuditEvent.seq > after)
                    .order_by(AuditEvent.seq)
                    .limit(page)
                )
            )
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].seq


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: str
    action: str | None = None
    key_id: str | None = None
    object_id: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _query(f: AuditFilter) -> Select:
    query = select(AuditEvent).where(AuditEvent.tenant_id == f.tenant_id)
    if f.action:
        # "key." matches every key action.
        query = query.where(AuditEvent.action.startswith(f.action) if f.action.endswith(".") else AuditEvent.action == f.action)
    for column, value in ((AuditEvent.key_id, f.key_id), (AuditEvent.object_id, f.object_id), (AuditEvent.outcome, f.outcome)):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(AuditEvent.at >= f.since)
    if f.until:
        query = query.where(AuditEvent.at < f.until)
    return query


def find(sessions: sessionmaker, f: AuditFilter, limit: int, offset: int) -> list[AuditEvent]:
    """Oldest first, the order of the chain."""
    with sessions() as session:
        return list(session.scalars(_query(f).order_by(AuditEvent.seq).limit(limit).offset(offset)))


def export(sessions: sessionmaker, f: AuditFilter, page: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, read a page at a time."""
    after = 0
    while True:
        with sessions() as session:
            rows = list(session.scalars(_query(f).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(page)))
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].seq


def as_dict(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        **_chained_fields(event),
        "tenant_id": event.tenant_id or None,  # "" is the chain of events without a tenant
        "hash": event.hash,
    }
