"""The gpu workers' queue, read from the job rows: which queued jobs may run now, at which
priority, for which tenant, and when each tenant was last served.

A job's transcription message in the broker is a ticket, not an order: the worker that takes
one runs whatever the scheduler (workers/runners/scheduling.py) picks from these rows, so a
normal upload sent behind 300 bulk files runs next, and one tenant's backlog does not hold
back another's. Every queued job has sent one ticket and every ticket claims at least one
queued job while any is due, so tickets never run out before the jobs do.

Each query reads the partial index ix_jobs_queue (queued jobs only) or ix_jobs_tenant_started
(migration 0009), so none of them grows with the finished jobs in the table.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from workers.store import jobs
from workers.store.db import Job, JobStatus, as_utc


def _due(now: datetime):
    """A queued job may run: its last sending, or the time its retry waits for, has come."""
    return func.coalesce(Job.enqueued_at, Job.created_at) <= now


def waiting_levels(sessions: sessionmaker, now: datetime, priorities: Collection[int] | None = None) -> list[tuple[int, str]]:
    """(priority, tenant) of every tenant with a queued job that is due, lowest priority first;
    only of `priorities` when given (a worker that serves one lane)."""
    query = select(Job.priority, Job.tenant_id).where(Job.status == JobStatus.queued, _due(now))
    if priorities is not None:
        query = query.where(Job.priority.in_(list(priorities)))
    with sessions() as session:
        rows = session.execute(query.group_by(Job.priority, Job.tenant_id).order_by(Job.priority, Job.tenant_id))
        return [(int(priority), tenant) for priority, tenant in rows]


def last_served(sessions: sessionmaker, tenants: Iterable[str]) -> dict[str, datetime | None]:
    """When each tenant's newest job was started (None: never), one index lookup per tenant."""
    found: dict[str, datetime | None] = {}
    with sessions() as session:
        for tenant in tenants:
            newest = session.scalar(select(func.max(Job.started_at)).where(Job.tenant_id == tenant))
            found[tenant] = as_utc(newest) if newest is not None else None
    return found


def oldest_due(sessions: sessionmaker, priority: int, now: datetime, limit: int, tenant_id: str | None = None) -> list[Job]:
    """Queued, due jobs of one priority (and tenant, if given), oldest first."""
    query = select(Job).where(Job.status == JobStatus.queued, Job.priority == priority, _due(now))
    if tenant_id is not None:
        query = query.where(Job.tenant_id == tenant_id)
    with sessions() as session:
        return list(session.scalars(query.order_by(Job.created_at, Job.id).limit(limit)))


def claim(sessions: sessionmaker, job_id: str, worker: str, batch_id: str | None) -> Job | None:
    """Start a queued job for `worker` in batch `batch_id`; None if another worker got it first
    (or it is no longer queued)."""
    return jobs.start_attempt(sessions, job_id, worker, may_take_over=lambda _running: False, batch_id=batch_id)


def leave_batch(sessions: sessionmaker, job: Job) -> None:
    """The job, claimed for a batch, is decoded alone after all."""
    with sessions() as session:
        session.execute(update(Job).where(Job.id == job.id, Job.attempts == job.attempts).values(batch_id=None))
        session.commit()
    job.batch_id = None


def abandoned_with(sessions: sessionmaker, job: Job) -> list[Job]:
    """The job and the others of its batch that the same worker still runs: when that worker is
    gone, they all are."""
    if job.batch_id is None:
        return [job]
    with sessions() as session:
        others = session.scalars(
            select(Job).where(
                Job.batch_id == job.batch_id, Job.status == JobStatus.running, Job.worker == job.worker, Job.id != job.id
            )
        )
        return [job, *others]
