"""The job's summary (when the folder asks for summarize = true) as outbox/<name>.summary.md.

Summaries are made after the transcript, on the cpu queue: a completed job whose summary is
still pending or running is waited for, so the transcript and its summary arrive together.
"""

from __future__ import annotations

from workers.store.db import Job, SummaryStatus
from workers.store.storage import Storage
from workers.summary.render import to_markdown
from workers.summary.schema import Summary

SUMMARY_SUFFIX = ".summary.md"
SUMMARY_WAITING = (SummaryStatus.pending, SummaryStatus.running)


def stored_summary_key(job: Job) -> str | None:
    """The key of a finished summary; None when none was asked for or it failed."""
    return job.summary_key if job.summary_status == SummaryStatus.completed else None


def stored_summary(storage: Storage, key: str) -> Summary:
    """ObjectNotFound when the stored summary is gone."""
    return Summary.model_validate_json(storage.read_bytes(key).decode("utf-8"))


def summary_markdown(storage: Storage, key: str, title: str) -> str:
    """ObjectNotFound when the stored summary is gone."""
    return to_markdown(stored_summary(storage, key), title)
