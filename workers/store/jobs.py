"""Job records: every state change is one short transaction with a guard on the current state,
so duplicate task deliveries and concurrent workers cannot complete a job twice or undo it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workers.store.db import Job, JobStatus, SummaryStatus, utcnow

FINISHED = (JobStatus.completed, JobStatus.failed)


def job_prefix(job_id: str) -> str:
    """Storage prefix of everything a job owns (audio, results): deleting it deletes them all."""
    return f"jobs/{job_id}"


def transcript_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}/transcript.json"


def summary_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}/summary.json"


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


def create_job(sessions: sessionmaker, new: NewJob, job_id: str) -> tuple[Job, bool]:
    """Insert a queued job; returns (job, created). With an idempotency key already used by
    this owner, returns the existing job and created=False."""
    with sessions() as session:
        if new.idempotency_key:
            existing = _by_idempotency_key(session, new.owner, new.idempotency_key)
            if existing:
                return existing, False
        job = Job(
            id=job_id, owner=new.owner, idempotency_key=new.idempotency_key, filename=new.filename,
            audio_key=new.audio_key, audio_sha256=new.audio_sha256, audio_size_bytes=new.audio_size_bytes,
            duration_s=new.duration_s, options=new.options, status=JobStatus.queued, progress=0.0,
            timings_s={}, attempts=0,
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


def get_job(sessions: sessionmaker, job_id: str, owner: str | None = None) -> Job | None:
    """The job, or None if it does not exist or belongs to another owner (owner=None: any)."""
    with sessions() as session:
        job = session.get(Job, job_id)
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job


def list_jobs(sessions: sessionmaker, owner: str | None, status: str | None, limit: int, offset: int) -> tuple[list[Job], int]:
    """Newest first, with the total count for pagination."""
    query = select(Job)
    if owner is not None:
        query = query.where(Job.owner == owner)
    if status is not None:
        query = query.where(Job.status == status)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        jobs = session.scalars(query.order_by(Job.created_at.desc(), Job.id).limit(limit).offset(offset)).all()
        return list(jobs), total or 0


def start_attempt(sessions: sessionmaker, job_id: str) -> Job | None:
    """Mark the job running for a new attempt; None if it is finished or gone (nothing to do).

    A job found 'running' is taken over: its worker died and the broker redelivered the task.
    """
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINISHED))
            # Progress is not reset: a redone job's progress stays where the last attempt
            # left it until the new attempt passes it, so clients only ever see it rise.
            .values(
                status=JobStatus.running, stage="starting", attempts=Job.attempts + 1,
                started_at=utcnow(), error_code=None, error_message=None,
            )
        )
        session.commit()
        return session.get(Job, job_id) if result.rowcount else None


def requeue_job(sessions: sessionmaker, job_id: str, reason: str) -> None:
    """Back to queued while a retry waits (a transient error, e.g. the model Hub unreachable)."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running)
            .values(status=JobStatus.queued, stage="waiting_retry", error_message=reason[:4000])
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


def complete_job(sessions: sessionmaker, job_id: str, transcript_key: str, duration_s: float, timings_s: dict) -> bool:
    """Mark completed; False if another attempt already finished it or it was deleted."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(FINISHED))
            .values(
                status=JobStatus.completed, stage="done", progress=1.0, transcript_key=transcript_key,
                duration_s=duration_s, timings_s=timings_s, finished_at=utcnow(),
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
                status=JobStatus.failed, error_code=code, error_message=message[:4000], finished_at=utcnow(),
                summary_status=case((no_summary, SummaryStatus.failed), else_=Job.summary_status),
                summary_error_code=case((no_summary, "no_transcript"), else_=Job.summary_error_code),
                summary_error=case((no_summary, "the transcription failed, so there is nothing to summarise"),
                                   else_=Job.summary_error),
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
            .values(summary_status=SummaryStatus.completed, summary_key=key, summary_error_code=None,
                    summary_error=None, summary_finished_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)


def fail_summary(sessions: sessionmaker, job_id: str, code: str, message: str) -> bool:
    """The summary failed; the job and its transcript stay as they are."""
    with sessions() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.summary_status.in_(SUMMARY_ACTIVE))
            .values(summary_status=SummaryStatus.failed, summary_error_code=code, summary_error=message[:4000],
                    summary_finished_at=utcnow())
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
            .values(summary_status=SummaryStatus.pending, summary_attempts=0, summary_error_code=None,
                    summary_error=None, summary_finished_at=None)
        )
        session.commit()
        return bool(result.rowcount)


def reset_summary_request(sessions: sessionmaker, previous: Job) -> None:
    """Undo request_summary when the task could not be queued: back to `previous`'s state."""
    with sessions() as session:
        session.execute(
            update(Job)
            .where(Job.id == previous.id, Job.summary_status == SummaryStatus.pending)
            .values(summary_status=previous.summary_status, summary_attempts=previous.summary_attempts,
                    summary_error_code=previous.summary_error_code, summary_error=previous.summary_error,
                    summary_finished_at=previous.summary_finished_at)
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
