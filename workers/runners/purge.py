"""Retention: delete what a tenant no longer keeps. A cpu worker runs a pass every
`SWESCRIBE_PURGE_INTERVAL_S` (workers/tasks/purge.py).

Audio goes `audio_hours` after its job finished and the job's webhook deliveries settled;
transcripts and summaries (and the webhook deliveries, whose payloads carry them) go
`results_days` after the job finished (0 keeps them). A job under legal hold is skipped until
released. The job row stays, with audio_purged_at / results_purged_at as the record of what was
deleted and when, and fetching purged content is 410 Gone.

Safe to kill midway and to run twice: each job's purge is recorded by a guarded update in a
transaction that commits only after its objects are deleted (`jobs.purging`), so a pass killed in
between records nothing and the next deletes again (deleting a missing object is fine); two
passes record it once. The same transaction keeps a legal hold from landing mid-deletion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from workers.store import audit, jobs, keys, retention, revisions
from workers.store.audit import Action
from workers.store.db import Job, utcnow
from workers.store.storage import Storage
from workers.webhooks import store as webhook_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeOptions:
    default_audio_hours: int  # SWESCRIBE_RETENTION_AUDIO_HOURS
    default_results_days: int  # SWESCRIBE_RETENTION_RESULTS_DAYS; 0 keeps results
    batch_size: int = 200  # jobs per query; a pass goes on until none is due


@dataclass
class Purged:
    audio: list[str] = field(default_factory=list)  # job ids whose audio this pass purged
    results: list[str] = field(default_factory=list)  # job ids whose results this pass purged


def purge(sessions: sessionmaker, storage: Storage, options: PurgeOptions, now: Callable[[], datetime] = utcnow) -> Purged:
    """One pass over every tenant; `now` is injectable so tests can move the clock."""
    at = now()
    purged = Purged()
    for tenant in keys.list_tenants(sessions):
        kept = retention.for_tenant(tenant, options.default_audio_hours, options.default_results_days)
        audio_bound = at - timedelta(hours=kept.audio_hours)
        _each_due(
            sessions, "audio", tenant.id, audio_bound, options, lambda job, _session: _purge_audio(storage, job), at, purged.audio
        )
        if kept.results_days > 0:
            results_bound = at - timedelta(days=kept.results_days)
            _each_due(
                sessions,
                "results",
                tenant.id,
                results_bound,
                options,
                lambda job, session: _purge_results(session, storage, job),
                at,
                purged.results,
            )
    if purged.audio or purged.results:
        logger.info("retention: purged the audio of %d jobs and the results of %d", len(purged.audio), len(purged.results))
    return purged


def _each_due(
    sessions: sessionmaker,
    what: str,
    tenant_id: str,
    bound: datetime,
    options: PurgeOptions,
    delete: Callable[[Job, Session], None],
    at: datetime,
    done: list[str],
) -> None:
    seen: set[str] = set()
    while True:
        due = [j for j in jobs.due_for_purge(sessions, what, tenant_id, bound, options.batch_size) if j.id not in seen]
        if not due:
            return
        for job in due:
            seen.add(job.id)
            with jobs.purging(sessions, job, what, bound, at) as session:
                if session is None:
                    continue  # held, purged or gone since it was listed
                delete(job, session)
            done.append(job.id)
            entry = audit.Entry(
                action=Action.JOB_PURGED, tenant_id=tenant_id, object_type="job", object_id=job.id, detail={"what": what}
            )
            audit.record(sessions, entry)


def _purge_audio(storage: Storage, job: Job) -> None:
    storage.delete(job.audio_key)
    # The toned copy (redact_audio) still carries the voices: it is audio, kept as long.
    storage.delete(jobs.redacted_audio_key(job.id))


def _purge_results(session: Session, storage: Storage, job: Job) -> None:
    if job.audio_purged_at is not None:
        # Nothing under the job's prefix is kept any more: whatever else was made goes too.
        storage.delete_prefix(jobs.job_prefix(job.id))
    else:
        # Corrected revisions are results too (docs/governance.md).
        for key in (
            job.transcript_key,
            job.summary_key,
            jobs.original_transcript_key(job.id),
            *revisions.transcript_keys(session, job.id),
        ):
            if key:
                storage.delete(key)
    # The revisions' rows (their notes) and the speaker names, which are personal data.
    revisions.delete_for_job_in(session, job.id)
    # Delivery payloads carry the transcript and summary.
    webhook_store.delete_for_job_in(session, job.id)
