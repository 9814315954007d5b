"""A claimed recording to a queued job: hashed, probed, stored, recorded, sent to the gpu queue.

Deduplicated by content: the job's idempotency key is "ingest:<sha256>:<options digest>" under
the folder's owner, so the same recording dropped twice (or resubmitted after a crash) finds
the job that exists instead of making another.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from .. import jobs
from ..db import Job, JobStatus, new_id
from ..storage import Storage
from ..webhooks import store as webhook_store
from .claims import Claim
from .names import printable

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


class QueueUnavailable(Exception):
    """The task could not be sent (broker down); the job exists and is sent on a later try."""


def owner_for(folder: Path) -> str:
    """Jobs of one folder share an owner (32 characters at most, like an API key id)."""
    return "ingest-" + hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def idempotency_key(sha256: str, options: dict) -> str:
    # Options are part of the key: the same recording under other options is another job.
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]
    return f"ingest:{sha256}:{digest}"


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk


@dataclass(frozen=True)
class Submitter:
    sessions: sessionmaker
    storage: Storage
    send: Callable[[str], None]  # queues the transcription task of a job id
    owner: str
    options: dict

    def ensure_job(self, claim: Claim) -> Job:
        """The claim's job, created if needed; the claim records its id before anything is
        stored, so a crash leaves at most an orphan audio copy under that id, reused on resume."""
        key = idempotency_key(claim.state["sha256"], self.options)
        job_id = claim.state.get("job_id")
        if job_id:
            job = jobs.get_job(self.sessions, job_id)
            if job is not None:
                return job
        # The id this claim creates its job under, kept across a crash so stored audio is reused.
        new_job_id = claim.state.get("new_job_id") or new_id()
        existing = jobs.find_by_idempotency_key(self.sessions, self.owner, key)
        if existing is not None and existing.status == JobStatus.failed.value and existing.id != new_job_id:
            # A new drop of content that failed before is a request to try again.
            logger.info("%s: job %s failed before (%s); trying again", printable(claim.name), existing.id, existing.error_code)
            jobs.delete_job(self.sessions, existing.id)
            webhook_store.delete_for_job(self.sessions, existing.id)
            self.storage.delete_prefix(jobs.job_prefix(existing.id))
            existing = None
        if existing is not None:
            claim.update(job_id=existing.id)
            return existing

        claim.update(new_job_id=new_job_id)
        stored = self.storage.save_stream(f"{jobs.job_prefix(new_job_id)}/{claim.state['audio']}", _chunks(claim.audio), None)
        new = jobs.NewJob(
            owner=self.owner, filename=printable(claim.name)[:500], audio_key=stored.key, audio_sha256=stored.sha256,
            audio_size_bytes=stored.size_bytes, duration_s=claim.state.get("duration_s"), options=self.options,
            idempotency_key=key,
        )
        job, created = jobs.create_job(self.sessions, new, new_job_id)
        if not created:
            self.storage.delete_prefix(jobs.job_prefix(new_job_id))
        claim.update(job_id=job.id)
        return job

    def enqueue(self, claim: Claim, job: Job) -> None:
        """Send the task of a job this claim created, once (again after a crash between sending
        and recording it, which the idempotent task tolerates). A duplicate's job is sent by
        the claim that created it."""
        if claim.state.get("enqueued") or job.id != claim.state.get("new_job_id"):
            return
        if job.status == JobStatus.queued.value:
            try:
                self.send(job.id)
            except Exception as e:  # noqa: BLE001 - kombu and redis raise many connection error types
                raise QueueUnavailable(f"the job queue is unavailable: {e}") from e
        claim.update(enqueued=True)
