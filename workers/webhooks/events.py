"""Event payloads: job.completed and job.failed, as Standard Webhooks JSON bodies."""

from __future__ import annotations

import json

from workers.store.db import Job, SummaryStatus, as_utc, utcnow

COMPLETED, FAILED = "job.completed", "job.failed"


def job_event(
    job: Job,
    event: str,
    transcript_json: str | None,
    inline_max_bytes: int,
    base_url: str | None,
    summary_json: str | None = None,
) -> str:
    """The body for `event` about `job`. The transcript is inline when it fits, else linked.

    A job whose summary was asked for carries `summary`: its status (completed or failed; the
    event is sent once the summary finished), the error if it failed, and the document."""
    base = (base_url or "").rstrip("/")
    data: dict = {
        "id": job.id,
        "status": job.status,
        "file": {"name": job.filename, "size_bytes": job.audio_size_bytes, "sha256": job.audio_sha256},
        "duration_s": job.duration_s,
        "options": {k: v for k, v in (job.options or {}).items() if k != "webhook_url"},
        "created_at": _iso(job.created_at),
        "finished_at": _iso(job.finished_at),
        "links": {"job": f"{base}/v1/jobs/{job.id}", "transcript": f"{base}/v1/jobs/{job.id}/transcript?format=json"},
    }
    if event == COMPLETED:
        # CPU, GPU and wall seconds per stage and the energy (workers/pipeline/cost.py); null
        # for a job completed without a meter.
        data["cost"] = getattr(job, "cost", None)
    if event == FAILED:
        data["error"] = {"code": job.error_code, "message": job.error_message}
    elif transcript_json is not None:
        fits = len(transcript_json.encode("utf-8")) <= inline_max_bytes
        data["transcript"] = json.loads(transcript_json) if fits else None
        data["transcript_inline"] = fits
    summary_status = getattr(job, "summary_status", None) or "none"
    if event == COMPLETED and summary_status != "none":
        data["links"]["summary"] = f"{base}/v1/jobs/{job.id}/summary"
        data["summary"] = {
            "status": summary_status,
            "error": {"code": job.summary_error_code, "message": job.summary_error}
            if summary_status == SummaryStatus.failed
            else None,
            "document": json.loads(summary_json) if summary_json is not None else None,
        }
    return json.dumps({"type": event, "timestamp": _iso(utcnow()), "data": data}, ensure_ascii=False)


def _iso(value) -> str | None:
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def with_transcript(payload: str, transcript_json: str, inline_max_bytes: int) -> str:
    """A stored job.completed body with the transcript as it is now (the latest revision, with
    the speaker names), inline when it fits, for a redelivery; other events unchanged."""
    body = json.loads(payload)
    data = body.get("data") or {}
    if body.get("type") != COMPLETED or "transcript_inline" not in data:
        return payload
    fits = len(transcript_json.encode("utf-8")) <= inline_max_bytes
    data["transcript"] = json.loads(transcript_json) if fits else None
    data["transcript_inline"] = fits
    return json.dumps(body, ensure_ascii=False)
