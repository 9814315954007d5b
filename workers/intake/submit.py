"""Creating a job, whichever way the recording came in (REST upload, OpenAI route, folder).

`submit` stores the audio, writes the job row and queues the transcription task. The row is
the record: audio stored for a row that could not be written is removed again, and a task that
could not be queued leaves the job queued (QueueUnavailable says so), for the caller to
remove (an HTTP client that gets a 503) or to send later (the folder ingester).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from workers.intake.options import JobOptions
from workers.store import jobs, revisions
from workers.store.db import DEFAULT_TENANT, Job, Priority, new_id
from workers.store.storage import Storage
from workers.tasks.names import SendTicket
from workers.webhooks import store as webhook_store

CHUNK_BYTES = 1024 * 1024
# The job row's filename column (workers/store/db.py).
MAX_FILENAME_CHARS = 500
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


class IdempotencyConflict(Exception):
    """The idempotency key was used before for other content or other options."""

    def __init__(self, job: Job):
        super().__init__(
            f"the idempotency key was used for job {job.id} with other content or options; use a new key for a new upload"
        )
        self.job = job


class QueueUnavailable(Exception):
    """The job exists but its task could not be sent (broker down)."""

    def __init__(self, job: Job, reason: str):
        super().__init__(f"the job queue is unavailable: {reason}")
        self.job = job


@dataclass(frozen=True)
class Intake:
    """Where jobs go: the job database, the audio storage, the gpu queue."""

    sessions: sessionmaker
    storage: Storage
    enqueue: SendTicket


@dataclass(frozen=True)
class Recording:
    """A recording on local disk, already probed."""

    path: Path
    filename: str  # as the caller named it; the job shows job_filename() of it
    duration_s: float | None


def job_filename(name: str) -> str:
    """The caller's file name as the job keeps and shows it: bytes that are not UTF-8 become
    U+FFFD, control characters (NUL among them, which PostgreSQL refuses) become '?', and a
    name too long for the row is shortened in the middle of its stem, keeping the extension."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else "?" for c in text) or "upload"
    if len(text) <= MAX_FILENAME_CHARS:
        return text
    suffix = Path(text).suffix if len(Path(text).suffix) <= 16 else ""
    return text[: MAX_FILENAME_CHARS - len(suffix) - 1] + "…" + suffix


def audio_key(job_id: str, filename: str) -> str:
    """Where a job's audio is stored; the suffix is kept when it is a plain extension (the
    decoder does not need it, but a person reading the bucket does)."""
    suffix = Path(filename).suffix.lower()
    return f"{jobs.job_prefix(job_id)}/audio{suffix if _SAFE_SUFFIX.match(suffix) else '.bin'}"


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk


def submit(
    intake: Intake,
    recording: Recording,
    *,
    owner: str,
    options: JobOptions,
    idempotency_key: str | None = None,
    job_id: str | None = None,
    max_bytes: int | None = None,
    tenant_id: str = DEFAULT_TENANT,
    default_priority: Priority = Priority.normal,
) -> tuple[Job, bool]:
    """Store, record and queue a new job; returns (job, created).

    With an idempotency key this owner already used for the same content and options, the
    existing job is returned (created False) and nothing new is kept; for anything else,
    IdempotencyConflict. `job_id` lets a caller that must survive a crash name the
    job before anything is stored (the ingester reuses it on resume). Raises the storage's
    TooLarge / StorageError before anything is recorded, and QueueUnavailable after.
    The job runs at the options' priority, else at `default_priority` (the way in's own).
    """
    job_id = job_id or new_id()
    stored = intake.storage.save_stream(audio_key(job_id, recording.filename), _chunks(recording.path), max_bytes)
    new = jobs.NewJob(
        owner=owner,
        filename=job_filename(recording.filename),
        audio_key=stored.key,
        audio_sha256=stored.sha256,
        audio_size_bytes=stored.size_bytes,
        duration_s=recording.duration_s,
        options=options.stored(),
        idempotency_key=idempotency_key,
        tenant_id=tenant_id,
        reference=options.reference,
        priority=Priority[options.priority] if options.priority else default_priority,
    )
    try:
        job, created = jobs.create_job(intake.sessions, new, job_id)
    except BaseException:
        intake.storage.delete_prefix(jobs.job_prefix(job_id))  # no audio without its row
        raise
    if not created:
        intake.storage.delete_prefix(jobs.job_prefix(job_id))  # the earlier request's job stands
        if (job.audio_sha256, job.options) != (stored.sha256, new.options):
            raise IdempotencyConflict(job)
        return job, False
    send(intake, job)
    return job, True


def send(intake: Intake, job: Job) -> None:
    """Queue the transcription task of a job (again, after QueueUnavailable: the task is
    idempotent)."""
    try:
        intake.enqueue(job.id, job.priority)
    except Exception as e:  # noqa: BLE001 - kombu and redis raise many connection error types
        raise QueueUnavailable(job, str(e)) from e


def remove_job(intake: Intake, job_id: str) -> None:
    """Remove a job with everything it stored (its deliveries, its audio and results).

    Row first: a worker that finishes afterwards finds no job and removes what it wrote."""
    jobs.delete_job(intake.sessions, job_id)
    webhook_store.delete_for_job(intake.sessions, job_id)
    revisions.delete_for_job(intake.sessions, job_id)
    intake.storage.delete_prefix(jobs.job_prefix(job_id))
