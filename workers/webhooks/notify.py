"""Turn a finished job into webhook deliveries: to the job's own URL and the key's default."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from workers.settings import Settings
from workers.store import jobs, revisions
from workers.store.db import JobStatus, SummaryStatus
from workers.store.storage import Storage
from workers.webhooks import store
from workers.webhooks.events import COMPLETED, FAILED, job_event, with_transcript


def notify_job_finished(
    sessions: sessionmaker, storage: Storage, settings: Settings, job_id: str, enqueue: Callable[[str], None]
) -> list[str]:
    """Create and queue the deliveries for a job that just completed or failed, or whose summary
    (asked for with the job or again later) just finished; their ids."""
    job = jobs.get_job(sessions, job_id)
    if job is None or job.status not in jobs.FINISHED:
        return []
    endpoint = store.get_endpoint(sessions, job.owner)
    if endpoint is None:
        return []  # no secret, so nothing can be signed; uploads with a webhook_url require one
    targets: list[tuple[str, bool]] = []
    # Read raw, not through JobOptions: a job failed for options that no longer validate is
    # still reported to the URL it named.
    if job.options.get("webhook_url"):
        targets.append((job.options["webhook_url"], False))
    if endpoint.url and endpoint.disabled_at is None and endpoint.url not in [url for url, _ in targets]:
        targets.append((endpoint.url, True))
    if not targets:
        return []

    completed = job.status == JobStatus.completed
    # The latest revision with the job's speaker names: what GET .../transcript serves.
    transcript = revisions.current_transcript_json(sessions, storage, job) if completed and job.transcript_key else None
    summary = (
        storage.read_bytes(job.summary_key).decode("utf-8")
        if completed and job.summary_status == SummaryStatus.completed and job.summary_key
        else None
    )
    payload = job_event(
        job,
        COMPLETED if completed else FAILED,
        transcript,
        settings.webhook_inline_transcript_max_kb * 1024,
        settings.public_base_url,
        summary,
    )
    ids = [
        store.create_delivery(
            sessions,
            job_id=job.id,
            owner=job.owner,
            event=COMPLETED if completed else FAILED,
            url=url,
            payload=payload,
            to_default_endpoint=is_default,
        )
        for url, is_default in targets
    ]
    for delivery_id in ids:
        enqueue(delivery_id)
    return ids


def refresh_transcripts(sessions: sessionmaker, storage: Storage, settings: Settings, job_id: str) -> None:
    """Before a redelivery: the job.completed bodies carry the transcript as it is now (the
    latest revision, with the speaker names), not as it was when the event was made."""
    job = jobs.get_job(sessions, job_id)
    if job is None or job.status != JobStatus.completed or not job.transcript_key or job.results_purged_at is not None:
        return
    current = revisions.current_transcript_json(sessions, storage, job)
    limit = settings.webhook_inline_transcript_max_kb * 1024
    store.rewrite_payloads(sessions, job_id, lambda payload: with_transcript(payload, current, limit))
