"""Checks several routes share: the caller's own job, a webhook URL that is safe to call."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from app.errors import ApiError
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import Job
from workers.webhooks.url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url


def own_job(sessions: sessionmaker, job_id: str, owner: str) -> Job:
    """The job if it belongs to `owner`; another key's job is as absent as a missing one."""
    job = jobs.get_job(sessions, job_id, owner)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id}")
    return job


def checked_webhook_url(url: str, settings: Settings) -> str:
    try:
        check_webhook_url(url, UrlPolicy(allow_private=settings.webhook_allow_private))
    except UnsafeWebhookUrl as e:
        raise ApiError(400, "invalid_webhook_url", str(e)) from e
    return url
