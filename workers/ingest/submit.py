"""A claimed recording to a queued job: hashed, probed, stored, recorded, sent to the gpu queue.

Deduplicated by content: the job's idempotency key is "ingest:<sha256>:<options digest>" under
the folder's owner, so the same recording dropped twice (or resubmitted after a crash) finds
the job that exists instead of making another.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from workers.ingest.claims import Claim
from workers.intake.options import JobOptions
from workers.intake.submit import Intake, QueueUnavailable, Recording, remove_job, send, submit
from workers.store import audit, jobs
from workers.store.db import Job, JobStatus, Priority, new_id

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024


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


@dataclass(frozen=True)
class Submitter:
    """Submits claimed recordings through the one job intake, keeping the claim's record of
    where it got to (job id, task sent) so a crash at any point resumes without a second job."""

    intake: Intake
    owner: str
    options: JobOptions

    def ensure_job(self, claim: Claim) -> Job:
        """The claim's job, created (and queued) if needed; the claim records its id before
        anything is stored, so a crash leaves at most an orphan audio copy under that id,
        reused on resume. Raises QueueUnavailable when the job exists but was not queued."""
        key = idempotency_key(claim.state["sha256"], self.options.stored())
        job_id = claim.state.get("job_id")
        if job_id:
            job = jobs.get_job(self.intake.sessions, job_id)
            if job is not None:
                return job
        # The id this claim creates its job under, kept across a crash so stored audio is reused.
        new_job_id = claim.state.get("new_job_id") or new_id()
        existing = jobs.find_by_idempotency_key(self.intake.sessions, self.owner, key)
        if existing is not None and existing.status == JobStatus.failed and existing.id != new_job_id:
            # A new drop of content that failed before is a request to try again.
            logger.info("claim %s: job %s failed before (%s); trying again", claim.id, existing.id, existing.error_code)
            remove_job(self.intake, existing.id)
            existing = None
        if existing is not None:
            claim.update(job_id=existing.id)
            return existing

        claim.update(new_job_id=new_job_id)
        recording = Recording(claim.audio, claim.name, claim.state.get("duration_s"))
        try:
            job, created = submit(
                self.intake,
                recording,
                owner=self.owner,
                options=self.options,
                idempotency_key=key,
                job_id=new_job_id,
                # A folder is a batch: its recordings wait behind uploads unless its
                # swescribe.toml says priority = "normal".
                default_priority=Priority.bulk,
            )
        except QueueUnavailable as e:
            claim.update(job_id=e.job.id)
            _record_created(self.intake, e.job)
            raise
        claim.update(job_id=job.id, enqueued=created)
        if created:
            _record_created(self.intake, job)
        return job

    def enqueue(self, claim: Claim, job: Job) -> None:
        """Send the task of a job this claim created if it is not known to be sent (after a
        broker outage, or a crash between sending and recording it, which the idempotent task
        tolerates). A duplicate's job is sent by the claim that created it."""
        if claim.state.get("enqueued") or job.id != claim.state.get("new_job_id"):
            return
        if job.status == JobStatus.queued:
            send(self.intake, job)
        claim.update(enqueued=True)


def _record_created(intake: Intake, job: Job) -> None:
    """The audit trail's job.created for a folder's job: no key, the folder's owner id."""
    entry = audit.Entry(
        action=audit.Action.JOB_CREATED,
        tenant_id=job.tenant_id,
        object_type="job",
        object_id=job.id,
        client="ingest",
        user_agent="swescribe-ingest",
        detail={"route": "folder", "owner": job.owner},
    )
    audit.record(intake.sessions, entry)
