"""Job records: every state change is one short transaction with a guard on the current state,
so duplicate task deliveries and concurrent workers cannot complete a job twice or undo it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import case, delete, exists, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workers.store.cursor import Listing, Position
from workers.store.db import (
    DEFAULT_TENANT,
    DeliveryStatus,
    Job,
    JobStatus,
    JobTotal,
    Priority,
    StageTotal,
    SummaryStatus,
    WebhookDelivery,
    as_utc,
    utcnow,
)

FINISHED = (JobStatus.completed, JobStatus.failed)


def job_prefix(job_id: str) -> str:
    """Storage prefix of everything a job owns (audio, results): deleting it deletes them all."""
    return f"jobs/{job_id}"


def transcript_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}/transcript.json"


def summary_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}/summary.json"


def original_transcript_key(job_id: str) -> str:
    """The unredacted transcript of a redacted job, kept only with SWESCRIBE_REDACTION_KEEP_ORIGINAL."""
    return f"{job_prefix(job_id)}/transcript.original.json"


def redacted_audio_key(job_id: str) -> str:
    """The copy of the recording with a tone over each redacted span (option redact_audio)."""
    return f"{job_prefix(job_id)}/audio.redacted.flac"


@dataclass(frozen=True)
class NewJob:
    owner: str
    filename: str
    audio_key: str
    audio_sha256: str
    audio_size_bytes: int
    duration_s: float | None
    options: dict
    idempotency_key: str | None = None
    tenant_id: str = DEFAULT_TENANT
    reference: str | None = None
    priority: Priority = Priority.normal


def create_job(sessions: sessionmaker, new: NewJob, job_id: str) -> tuple[Job, bool]:
    """Insert a queued job; returns (job, created). With an idempotency key already used by
    this owner, returns the existing job and created=False."""
    with sessions() as session:
        if new.idempotency_key:
            existing = _by_idempotency_key(session, new.owner, new.idempotency_key)
            if existing:
                return existing, False
        job = Job(
            id=job_id,
            owner=new.owner,
            tenant_id=new.tenant_id,
            reference=new.reference,
            idempotency_key=new.idempotency_key,
            filename=new.filename,
            audio_key=new.audio_key,
            audio_sha256=new.audio_sha256,
            audio_size_bytes=new.audio_size_bytes,
            duration_s=new.duration_s,
            priority=new.priority,
            options=new.options,
            status=JobStatus.queued,
            progress=0.0,
            timings_s={},
            attempts=0,
            summary_status=SummaryStatus.pending if new.options.get("summarize") else SummaryStatus.none,
        )
        session.add(job)
        try:
            session.commit()
        except IntegrityError:
            # Two requests with the same key raced; the other one won.
            session.rollback()
            existing = _by_idempotency_key(session, new.owner, new.idempotency_key) if new.idempotency_key else None
            if existing is None:
                raise
            return existing, False
        return job, True


def _by_idempotency_key(session: Session, owner: str, key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.owner == owner, Job.idempotency_key == key))


def find_by_idempotency_key(sessions: sessionmaker, owner: str, key: str) -> Job | None:
    with sessions() as session:
        return _by_idempotency_key(session, owner, key)


def get_job(sessions: sessionmaker, job_id: str, owner: str | None = None, tenant_id: str | None = None) -> Job | None:
    """The job, or None if it does not exist or belongs to another owner or tenant (None: any)."""
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or (owner is not None and job.owner != owner) or (tenant_id is not None and job.tenant_id != tenant_id):
            return None
        return job


def list_jobs(
    sessions: sessionmaker,
    owner: str | None,
    status: str | None,
    limit: int,
    offset: int,
    tenant_id: str | None = None,
    reference: str | None = None,
) -> tuple[list[Job], int]:
    """Newest first, with the total count for pagination (None: any owner, tenant, reference)."""
    listing = Listing(tenant_id=tenant_id, owner=owner, status=status, reference=reference)
    found, _ = page_jobs(sessions, listing, limit, offset=offset)
    return found, count_jobs(sessions, listing)


def _filtered(query, listing: Listing):
    if listing.owner is not None:
        query = query.where(Job.owner == listing.owner)
    if listing.tenant_id is not None:
        query = query.where(Job.tenant_id == listing.tenant_id)
    if listing.reference is not None:
        query = query.where(Job.reference == listing.reference)
    if listing.status is not None:
        query = query.where(Job.status == listing.status)
    return query


def page_jobs(
    sessions: sessionmaker, listing: Listing, limit: int, *, after: Position | None = None, offset: int = 0
) -> tuple[list[Job], Position | None]:
    """One page of the listing, newest first (created_at DESC, id DESC), starting after the
    position `after` (keyset: read from the index where the last page ended, however deep) or
    `offset` jobs in (kept for older clients; deep offsets read every skipped row). Returns the
    page and the position of its last job, or None when no job follows it.

    Each filter combination reads an index ending in (created_at, id) (db.Job's indexes)."""
    query = _filtered(select(Job), listing)
    if after is not None:
        # A row comparison is one range on the index, on PostgreSQL and SQLite alike.
        query = query.where(tuple_(Job.created_at, Job.id) < tuple_(after.created_at, after.id))
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1).offset(offset)
    with sessions() as session:
        found = list(session.scalars(query))
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], Position(created_at=as_utc(last.created_at) or last.created_at, id=last.id)


def count_jobs(sessions: sessionmaker, listing: Listing) -> int:
    """How many jobs the listing holds: finished ones from job_totals (a few rows; counting a
    large tenant's rows took about 200 ms, migration 0008), queued and running ones counted
    on the listing's index (there are few). A case reference picks few rows: counted directly."""
    if listing.reference is not None:
        with sessions() as session:
            return session.scalar(_filtered(select(func.count()).select_from(Job), listing)) or 0
    unfinished = [s for s in (JobStatus.queued, JobStatus.running) if listing.status in (None, s)]
    finished = [s for s in FINISHED if listing.status in (None, s)]
    totals = select(func.coalesce(func.sum(JobTotal.jobs), 0)).where(JobTotal.status.in_(finished))
    if listing.tenant_id is not None:
        totals = totals.where(JobTotal.tenant_id == listing.tenant_id)
    if listing.owner is not None:
        totals = totals.where(JobTotal.owner == listing.owner)
    live = _filtered(select(func.count()).select_from(Job), replace(listing, status=None)).where(Job.status.in_(unfinished))
    with sessions() as session:
        count = session.scalar(totals) if finished else 0
        if unfinished:
            count += session.scalar(live) or 0
        return int(count or 0)


def recount_totals(sessions: sessionmaker) -> None:
    """Rebuild job_totals from the rows (as migration 0008 filled it): for rows written around
    the job store, e.g. imported or seeded. Stage totals are not rebuilt (they keep deleted jobs)."""
    energy_wh = func.coalesce(func.sum(Job.cost["energy_wh"].as_float()), 0.0)
    with sessions() as session:
        session.execute(delete(JobTotal))
        grouped = (
            select(Job.tenant_id, Job.owner, Job.status, func.count(), func.coalesce(func.sum(Job.duration_s), 0.0), energy_wh)
            .where(Job.status.in_(FINISHED))
            .group_by(Job.tenant_id, Job.owner, Job.status)
        )
        for tenant_id, owner, status, count, audio_s, energy in session.execute(grouped).all():
            session.add(JobTotal(tenant_id=tenant_id, owner=owner, status=status, jobs=count, audio_s=audio_s, energy_wh=energy))
        session.commit()


@dataclass(frozen=True)
class JobFigures:
    """What /metrics reports about jobs."""

    by_status: dict[str, int]  # every status, 0 when none
    audio_s_by_tenant: dict[str, float]  # seconds of audio in the tenant's completed jobs
    stage_s: dict[str, float]  # seconds per pipeline stage, every job completed so far
    energy_wh_by_tenant: dict[str, float] = field(default_factory=dict)  # Wh of the tenant's completed jobs
    stage_cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage, jobs with a cost
    stage_gpu_s: dict[str, float] = field(default_factory=dict)  # GPU seconds per stage, jobs with a cost

    @property
    def audio_s(self) -> float:
        return sum(self.audio_s_by_tenant.values())


def job_figures(sessions: sessionmaker) -> JobFigures:
    """Queued and running jobs counted from ix_jobs_status (there are few); finished jobs, their
    audio and stage seconds from the running totals (job_totals, job_stage_totals) that
    complete_job, fail_job and delete_job keep in their own transactions. Counting a million
    rows by status at each scrape took 250-370 ms (migration 0008), the totals a few rows."""
    unfinished = (
        select(Job.status, func.count()).where(Job.status.in_((JobStatus.queued, JobStatus.running))).group_by(Job.status)
    )
    with sessions() as session:
        live = session.execute(unfinished).all()
        totals = session.execute(
            select(
                JobTotal.tenant_id,
                JobTotal.status,
                func.sum(JobTotal.jobs),
                func.sum(JobTotal.audio_s),
                func.sum(JobTotal.energy_wh),
            ).group_by(JobTotal.tenant_id, JobTotal.status)
        ).all()
        stages = session.execute(
            select(StageTotal.stage, StageTotal.seconds, StageTotal.cpu_s, StageTotal.gpu_s).order_by(StageTotal.stage)
        ).all()
    by_status = {s.value: 0 for s in JobStatus}
    for status, count in live:
        by_status[status] = count
    audio: dict[str, float] = {}
    energy: dict[str, float] = {}
    for tenant_id, status, count, audio_s, energy_wh in totals:
        by_status[status] = by_status.get(status, 0) + count
        if status == JobStatus.completed:
            audio[tenant_id] = float(audio_s)
            energy[tenant_id] = float(energy_wh or 0.0)
    return JobFigures(
        by_status=by_status,
        audio_s_by_tenant=audio,
        stage_s={stage: float(s) for stage, s, _, _ in stages},
        energy_wh_by_tenant=energy,
        stage_cpu_s={stage: float(cpu_s) for stage, _, cpu_s, _ in stages},
        stage_gpu_s={stage: float(gpu_s) for stage, _, _, gpu_s in stages},
    )


def _upsert(session: Session):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]


def _add_finished(
    session: Session, tenant_id: str, owner: str, status: str, jobs: int, audio_s: float, energy_wh: float = 0.0
) -> None:
    """Count a job into (jobs 1) or out of (jobs -1) its key's finished totals; audio and energy
    are only ever added (the metrics are counters)."""
    statement = _upsert(session)(JobTotal).values(
        tenant_id=tenant_id, owner=owner, status=status, jobs=max(jobs, 0), audio_s=audio_s, energy_wh=energy_wh
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[JobTotal.tenant_id, JobTotal.owner, JobTotal.status],
            set_={
                "jobs": JobTotal.jobs + jobs,
                "audio_s": JobTotal.audio_s + statement.excluded.audio_s,
                "energy_wh": JobTotal.energy_wh + statement.excluded.energy_wh,
            },
        )
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _add_stage_seconds(session: Session, timings_s: dict, cost: dict | None = None) -> None:
    """Add a completed job's stage seconds, and the CPU and GPU seconds of its cost, to the
    running totals, in the caller's transaction (one upsert per stage, in stage order, so two
    workers completing at once queue on the rows' locks rather than deadlock). `jobs` counts
    the jobs whose timings name the stage."""
    rows: dict[str, dict] = {}
    for stage, seconds in timings_s.items():
        if (value := _number(seconds)) is not None:
            rows[str(stage)[:64]] = {"seconds": value, "jobs": 1, "cpu_s": 0.0, "gpu_s": 0.0}
    stages = (cost or {}).get("stages")
    for stage, spent in (stages if isinstance(stages, dict) else {}).items():
        row = rows.setdefault(str(stage)[:64], {"seconds": 0.0, "jobs": 0, "cpu_s": 0.0, "gpu_s": 0.0})
        if isinstance(spent, dict):
            row["cpu_s"] = _number(spent.get("cpu_s")) or 0.0
            row["gpu_s"] = _number(spent.get("gpu_s")) or 0.0
    insert = _upsert(session)
    for stage, row in sorted(rows.items()):
        statement = insert(StageTotal).values(stage=stage, **row)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[StageTotal.stage],
                set_={
                    "seconds": StageTotal.seconds + statement.excluded.seconds,
                    "jobs": StageTotal.jobs + statement.excluded.jobs,
                    "cpu_s": StageTotal.cpu_s + statement.excluded.cpu_s,
                    "gpu_s": StageTotal.gpu_s + statement.excluded.gpu_s,
                },
            )
        )


def _take_over_any(_job: Job) -> bool:
    return True


def start_attempt(
    sessions: sessionmaker,
    job_id: str,
    worker: str | None = None,
    may_take_over: Callable[[Job], bool] = _take_over_any,
    batch_id: str | None = None,
) -> Job | None:
    """Mark the job running for a new attempt by `worker` (in batch `batch_id`, if it is
    decoded with others); None if there is nothing to do: it is finished or gone, another
    attempt got it first, or it is running and `may_take_over` says its worker may still be
    alive (a duplicate message; if that worker dies, the reconciler queues the job again).

    A compare-and-set on (status, attempts), so two deliveries never both start it.
    """
    with sessions() as session:
        current = session.get(Job, job_id)
        if current is None or current.status in FINISHED:
            return None
        if current.status == JobStatus.running and not may_take_over(current):
            return None
        now = utcnow()
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == current.status, Job.attempts == current.attempts)
            # Progress is not reset: a redone job's progress stays where the last attempt
            # left it until the new attempt passes it, so clients only ever see it rise.
            .values(
                status=JobStatus.running,
                stage="starting",
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                worker=worker,
                batch_id=batch_id,
                error_code=None,
                error_message=None,
            )
        )
        session.commit()
        return session.get(Job, job_id, populate_existing=True) if result.rowcount else None


def heartbeat(sessions: sessionmaker, job_id: str, attempt: int) -> bool:
    """Record that `attempt` is still at work; False once the job is no longer that attempt's
    (finished, deleted, or queued again because its worker seemed gone)."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running, Job.attempts == attempt)
            .values(heartbeat_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)


def holds_attempt(sessions: sessionmaker, job_id: str, attempt: int) -> bool:
    """Whether the job is still running as `attempt` (no other attempt took it over)."""
    with sessions() as session:
        job = session.get(Job, job_id)
        return job is not None and job.status == JobStatus.running and job.attempts == attempt


def running_jobs(sessions: sessionmaker) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).where(Job.status == JobStatus.running)))


def requeue_lost(sessions: sessionmaker, job: Job, silent_since: datetime | None = None) -> bool:
    """Back to queued: the job's worker is gone (`silent_since` None) or has not sent a
    heartbeat since `silent_since`. Guarded on the attempt it saw, so a job is taken back at
    most once per attempt, and never after a heartbeat that came in meanwhile."""
    guard = [Job.id == job.id, Job.status == JobStatus.running, Job.attempts == job.attempts]
    if silent_since is not None:
        guard.append(func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at) < silent_since)
    with sessions() as session:
        result = session.execute(
            update(Job).where(*guard).values(status=JobStatus.queued, stage="requeued", worker=None, enqueued_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)


def queued_jobs(sessions: sessionmaker) -> list[tuple[str, datetime, int]]:
    """(id, last sending or the time its retry waits for, priority) of every queued job, read
    from the partial index of queued jobs (ix_jobs_queue)."""
    sent = func.coalesce(Job.enqueued_at, Job.created_at)
    with sessions() as session:
        rows = session.execute(select(Job.id, sent, Job.priority).where(Job.status == JobStatus.queued))
        return [(job_id, as_utc(at), int(priority)) for job_id, at, priority in rows]


def count_queued(sessions: sessionmaker, job_ids: list[str]) -> int:
    """How many of `job_ids` are queued jobs."""
    found = 0
    with sessions() as session:
        for start in range(0, len(job_ids), 500):
            chunk = job_ids[start : start + 500]
            found += session.scalar(select(func.count()).where(Job.id.in_(chunk), Job.status == JobStatus.queued)) or 0
    return found


def mark_sent(sessions: sessionmaker, job_id: str, sent_before: datetime) -> bool:
    """Claim the re-sending of a queued job's task: True for one caller only, when the task
    was last sent before `sent_before` and the job is still queued."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued, func.coalesce(Job.enqueued_at, Job.created_at) < sent_before)
            .values(enqueued_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)


def requeue_job(sessions: sessionmaker, job_id: str, reason: str, retry_in_s: float = 0.0) -> None:
    """Back to queued while a retry waits (a transient error, e.g. the model Hub unreachable);
    the retry's task is due in `retry_in_s`, which counts as its sending time."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running)
            .values(
                status=JobStatus.queued,
                stage="waiting_retry",
                error_message=reason[:4000],
                worker=None,
                enqueued_at=utcnow() + timedelta(seconds=retry_in_s),
            )
        )
        session.commit()


def report_progress(sessions: sessionmaker, job_id: str, stage: str, progress: float) -> None:
    """Record stage and progress; the stored progress never goes down."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running)
            .values(stage=stage, progress=case((Job.progress < progress, progress), else_=Job.progress))
        )
        session.commit()


def complete_job(
    sessions: sessionmaker,
    job_id: str,
    transcript_key: str,
    duration_s: float,
    timings_s: dict,
    attempt: int | None = None,
    *,
    cost: dict | None = None,
) -> bool:
    """Mark completed; False if another attempt already finished it or it was deleted, or (with
    `attempt`) once a later attempt has started it. `cost` (JobCost.as_record(), from
    workers/pipeline/cost.py) is stored with the job, and its energy and CPU and GPU seconds
    are added to the running totals in the same transaction."""
    guard = [Job.id == job_id, Job.status.not_in(FINISHED)]
    if attempt is not None:
        guard.append(Job.attempts == attempt)
    with sessions() as session:
        done = session.execute(
            update(Job)
            .where(*guard)
            .values(
                status=JobStatus.completed,
                stage="done",
                progress=1.0,
                transcript_key=transcript_key,
                duration_s=duration_s,
                timings_s=timings_s,
                finished_at=utcnow(),
                # Only when given: None would be stored as JSON null rather than left NULL.
                **({"cost": cost} if cost is not None else {}),
            )
            .returning(Job.tenant_id, Job.owner)
        ).first()
        if done is not None:
            energy_wh = _number((cost or {}).get("energy_wh")) or 0.0
            _add_finished(session, done.tenant_id, done.owner, JobStatus.completed, 1, duration_s, energy_wh)
            _add_stage_seconds(session, timings_s, cost)
        session.commit()
        return done is not None


def fail_job(sessions: sessionmaker, job_id: str, code: str, message: str) -> bool:
    """Fail the job; a summary it asked for fails with it (there is no transcript to summarise)."""
    no_summary = Job.summary_status == SummaryStatus.pending
    with sessions() as session:
        finished = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINISHED))
            .values(
                status=JobStatus.failed,
                error_code=code,
                error_message=message[:4000],
                finished_at=utcnow(),
                summary_status=case((no_summary, SummaryStatus.failed), else_=Job.summary_status),
                summary_error_code=case((no_summary, "no_transcript"), else_=Job.summary_error_code),
                summary_error=case(
                    (no_summary, "the transcription failed, so there is nothing to summarise"), else_=Job.summary_error
                ),
            )
            .returning(Job.tenant_id, Job.owner, Job.duration_s)
        ).first()
        if finished is not None:
            _add_finished(session, finished.tenant_id, finished.owner, JobStatus.failed, 1, finished.duration_s or 0.0)
        session.commit()
        return finished is not None


SUMMARY_ACTIVE = (SummaryStatus.pending, SummaryStatus.running)


def claim_summary(sessions: sessionmaker, job_id: str) -> Job | None:
    """Mark the summary running for a new attempt; None if there is nothing to summarise (not
    asked for, already finished, job not completed or gone). A summary found running is taken
    over: its worker died and the broker redelivered the task."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.completed, Job.summary_status.in_(SUMMARY_ACTIVE))
            .values(summary_status=SummaryStatus.running, summary_attempts=Job.summary_attempts + 1)
        )
        session.commit()
        return session.get(Job, job_id) if result.rowcount else None


def complete_summary(sessions: sessionmaker, job_id: str, key: str) -> bool:
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.summary_status == SummaryStatus.running)
            .values(
                summary_status=SummaryStatus.completed,
                summary_key=key,
                summary_error_code=None,
                summary_error=None,
                summary_finished_at=utcnow(),
            )
        )
        session.commit()
        return bool(result.rowcount)


def fail_summary(sessions: sessionmaker, job_id: str, code: str, message: str) -> bool:
    """The summary failed; the job and its transcript stay as they are."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.summary_status.in_(SUMMARY_ACTIVE))
            .values(
                summary_status=SummaryStatus.failed,
                summary_error_code=code,
                summary_error=message[:4000],
                summary_finished_at=utcnow(),
            )
        )
        session.commit()
        return bool(result.rowcount)


def request_summary(sessions: sessionmaker, job_id: str) -> bool:
    """Ask for a (new) summary of a completed job; False while one is pending or running, or
    when the job is not completed."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.completed, Job.summary_status.not_in(SUMMARY_ACTIVE))
            .values(
                summary_status=SummaryStatus.pending,
                summary_attempts=0,
                summary_error_code=None,
                summary_error=None,
                summary_finished_at=None,
            )
        )
        session.commit()
        return bool(result.rowcount)


def reset_summary_request(sessions: sessionmaker, previous: Job) -> None:
    """Undo request_summary when the task could not be queued: back to `previous`'s state."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == previous.id, Job.summary_status == SummaryStatus.pending)
            .values(
                summary_status=previous.summary_status,
                summary_attempts=previous.summary_attempts,
                summary_error_code=previous.summary_error_code,
                summary_error=previous.summary_error,
                summary_finished_at=previous.summary_finished_at,
            )
        )
        session.commit()


def delete_job(sessions: sessionmaker, job_id: str) -> bool:
    """Delete the row; a finished job is counted out of its tenant's totals in the same
    transaction, by the status the deleted row had (RETURNING: a job that finished meanwhile is
    counted out as finished)."""
    with sessions() as session:
        gone = session.execute(
            delete(Job)
            .where(Job.id == job_id)
            .returning(Job.tenant_id, Job.owner, Job.status)
            .execution_options(synchronize_session=False)
        ).first()
        if gone is None:
            return False
        if gone.status in FINISHED:
            _add_finished(session, gone.tenant_id, gone.owner, gone.status, -1, 0.0)
        session.commit()
        return True


def set_hold(sessions: sessionmaker, job_id: str, held: bool) -> bool:
    """Put the job under legal hold (it is never purged) or release it; False if it already was
    in that state or is gone."""
    guard = Job.legal_hold_at.is_(None) if held else Job.legal_hold_at.is_not(None)
    with sessions() as session:
        result = session.execute(update(Job).where(Job.id == job_id, guard).values(legal_hold_at=utcnow() if held else None))
        session.commit()
        return bool(result.rowcount)


@contextlib.contextmanager
def purging(sessions: sessionmaker, job: Job, what: str, finished_before: datetime, at: datetime) -> Iterator[Session | None]:
    """Record that the job's audio (`what` "audio") or results ("results") are purged at `at`,
    in a transaction that stays open while the caller deletes them; None if the job is no longer
    purgeable (held, purged already, gone) and there is nothing to do.

    The guarded UPDATE comes first and takes the job's row (PostgreSQL) or the database's write
    lock (SQLite), so a legal hold, an UPDATE of the same row, lands either before it (the job no
    longer matches and is skipped) or after the purge is committed: never while a held job's
    content is being deleted. The caller deletes inside and writes any row of its own through
    the yielded session (another session would wait for this one's lock). If the caller fails or
    the process dies, nothing is recorded and the next pass deletes again (deleting a missing
    object is fine)."""
    column = {"audio": Job.audio_purged_at, "results": Job.results_purged_at}[what]
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, column.is_(None), *_purgeable(job.tenant_id, finished_before))
            .values({column: at})
        )
        if not result.rowcount:
            session.rollback()
            yield None
            return
        yield session
        session.commit()


def _purgeable(tenant_id: str, finished_before: datetime) -> list:
    """Finished before the bound, not under hold, its webhook deliveries settled (a pending
    delivery may still need what it carries), no summary on its way."""
    pending_delivery = exists().where(WebhookDelivery.job_id == Job.id, WebhookDelivery.status == DeliveryStatus.pending)
    return [
        Job.tenant_id == tenant_id,
        Job.status.in_(FINISHED),
        Job.finished_at < finished_before,
        Job.legal_hold_at.is_(None),
        Job.summary_status.not_in(SUMMARY_ACTIVE),
        ~pending_delivery,
    ]


def due_for_purge(sessions: sessionmaker, what: str, tenant_id: str, finished_before: datetime, limit: int) -> list[Job]:
    """Jobs whose audio (`what` "audio") or results ("results") retention has run out, oldest first."""
    column = {"audio": Job.audio_purged_at, "results": Job.results_purged_at}[what]
    with sessions() as session:
        query = select(Job).where(*_purgeable(tenant_id, finished_before), column.is_(None))
        return list(session.scalars(query.order_by(Job.finished_at, Job.id).limit(limit)))
