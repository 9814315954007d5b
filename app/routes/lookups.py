"""Checks several routes share: a job the caller may see, a webhook URL that is safe to call."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from app.deps import Caller
from app.errors import ApiError
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import Job, Role
from workers.webhooks.url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url


def own_job(sessions: sessionmaker, job_id: str, caller: Caller) -> Job:
    """The job if the caller may see it; another tenant's job (or, for an uploader, another
    key's) is as absent as a missing one."""
    job = jobs.get_job(sessions, job_id)
    if job is None or not caller.sees(job):
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    return job


def may_change(caller: Caller, job: Job) -> None:
    """Deleting is for members and admins; an uploader only uploads and reads."""
    if caller.role == Role.uploader:
        raise ApiError(
            403, "forbidden", f"an uploader key may not delete jobs; ask a member or admin of the tenant to delete {job.id}"
        )


def checked_webhook_url(url: str, settings: Settings) -> str:
    try:
        check_webhook_url(url, UrlPolicy(allow_private=settings.webhook_allow_private))
    except UnsafeWebhookUrl as e:
        raise ApiError(400, "invalid_webhook_url", str(e)) from e
    return url
