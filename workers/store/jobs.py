"""Job records: every state change is one short transaction with a guard on the current state,
so duplicate task deliveries and concurrent workers cannot complete a job twice or undo it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workers.store.db import DEFAULT_TENANT, DeliveryStatus, Job, JobStatus, SummaryStatus, WebhookDelivery, as_utc, utcnow

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
    query = select(Job)
    if owner is not None:
        query = query.where(Job.owner == owner)
    if tenant_id is not None:
        query = query.where(Job.tenant_id == tenant_id)
    if reference is not None:
        query = query.where(Job.reference == reference)
    if status is not None:
        query = query.where(Job.status == status)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        jobs = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)).all()
        return list(jobs), total or 0


def _take_over_any(_job: Job) -> bool:
    return True


def start_attempt(
    sessions: sessionmaker,
    job_id: str,
    worker: str | None = None,
    may_take_over: Callable[[Job], bool] = _take_over_any,
) -> Job | None:
    """Mark the job running for a new attempt by `worker`; None if there is nothing to do: it
    is finished or gone, another attempt got it first, or it is running and `may_take_over`
    says its worker may still be alive (a duplicate message; if that worker dies, the
    reconciler queues the job again).

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


def queued_before(sessions: sessionmaker, sent_before: datetime) -> list[tuple[str, datetime]]:
    """(id, last sending) of queued jobs whose task was last sent (or due) before `sent_before`."""
    sent = func.coalesce(Job.enqueued_at, Job.created_at)
    with sessions() as session:
        rows = session.execute(select(Job.id, sent).where(Job.status == JobStatus.queued, sent < sent_before))
        return [(job_id, as_utc(at)) for job_id, at in rows]


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
) -> bool:
    """Mark completed; False if another attempt already finished it or it was deleted, or (with
    `attempt`) once a later attempt has started it."""
    guard = [Job.id == job_id, Job.status.not_in(FINISHED)]
    if attempt is not None:
        guard.append(Job.attempts == attempt)
    with sessions() as session:
        result = session.execute(
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
            )
        )
        session.commit()
        return bool(result.rowcount)


def fail_job(sessions: sessionmaker, job_id: str, code: str, message: str) -> bool:
    """Fail the job; a summary it asked for fails with it (there is no transcript to summarise)."""
    no_summary = Job.summary_status == SummaryStatus.pending
    with sessions() as session:
        result = session.execute(
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
        )
        session.commit()
        return bool(result.rowcount)


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
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        session.delete(job)
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


def mark_purged(sessions: sessionmaker, job_id: str, what: str, at: datetime) -> bool:
    """Record that the job's audio or results were purged at `at`; False if that was recorded
    already or the job is gone or under hold."""
    column = {"audio": Job.audio_purged_at, "results": Job.results_purged_at}[what]
    with sessions() as session:
        result = session.execute(
            update(Job).where(Job.id == job_id, column.is_(None), Job.legal_hold_at.is_(None)).values({column: at})
        )
        session.commit()
        return bool(result.rowcount)


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


def still_purgeable(sessions: sessionmaker, job_id: str, what: str, finished_before: datetime) -> bool:
    """Checked again just before deleting, so a hold set since the job was listed is honoured."""
    column = {"audio": Job.audio_purged_at, "results": Job.results_purged_at}[what]
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        found = session.scalar(
            select(Job.id).where(Job.id == job_id, column.is_(None), *_purgeable(job.tenant_id, finished_before))
        )
        return found is not None
