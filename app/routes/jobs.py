"""/v1/jobs: upload, list, inspect, fetch the transcript and the summary, ask for a summary, delete."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.deps import CallerDep, CeleryDep, IntakeDep, SessionsDep, SettingsDep, StorageDep
from app.errors import ApiError
from app.routes.lookups import may_change, own_job
from app.routes.paging import PageCursor, PageLimit, PageOffset, job_page
from app.routes.revisions import load_revision
from app.schemas import JobList, JobPublic
from app.uploads import multipart_openapi, receive_upload, store_and_enqueue
from workers.documents.export import ExportOptions, export, file_name, subtitle_options
from workers.intake.options import JobOptions, OptionsRefused, check_allowed, describe_problems
from workers.intake.submit import remove_job
from workers.settings import Settings
from workers.store import audit, jobs, revisions
from workers.store.audit import Action
from workers.store.cursor import Listing
from workers.store.db import Job, JobStatus, Role, SummaryStatus, as_utc
from workers.store.storage import ObjectNotFound
from workers.summary.render import to_markdown
from workers.summary.schema import Summary
from workers.tasks.names import CPU_QUEUE, SUMMARIZE_TASK
from workers.transcript.corrections import with_speaker_names
from workers.transcript.formats import FORMAT_TABLE, formats_for, to_json
from workers.transcript.types import Transcript
from workers.webhooks import store

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

MEDIA_TYPES = {name: f.media_type for name, f in FORMAT_TABLE.items()}
# workers.transcript.formats.FORMATS, spelled out for OpenAPI (a test keeps the two equal).
TranscriptFormat = Literal["json", "txt", "txt-plain", "srt", "vtt", "rttm", "docx"]

_UPLOAD_BODY = multipart_openapi(
    ["file"],
    {
        "file": {"type": "string", "format": "binary", "description": "The recording (any common audio or video format)."},
        **{name: {"type": "string", "description": field.description} for name, field in JobOptions.model_fields.items()},
    },
)


def validate_options(fields: dict[str, str], settings: Settings, sessions, owner: str) -> JobOptions:
    """The form's option fields as JobOptions, checked against this operator's settings."""
    try:
        options = JobOptions.model_validate({k: v.strip() for k, v in fields.items() if v.strip()})
        check_allowed(options, settings)
    except ValidationError as e:
        raise ApiError(400, "invalid_option", describe_problems(e)) from e
    except OptionsRefused as e:
        raise ApiError(400, e.code, str(e)) from e
    if options.webhook_url is not None and store.get_endpoint(sessions, owner) is None:
        raise ApiError(400, "no_webhook_secret", "create this key's webhook signing secret first: PUT /v1/webhook")
    return options


@router.post(
    "",
    status_code=202,
    response_model=JobPublic,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a recording and queue its transcription",
)
async def create_job(
    request: Request,
    response: Response,
    caller: CallerDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    intake: IntakeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobPublic:
    # An Idempotency-Key is bound to the content and the options, so the upload is read (and
    # hashed) even when the key is known: the same key with another file is a 409, not a
    # silently dropped recording.
    upload = await receive_upload(request, settings, set(JobOptions.model_fields))
    try:
        options = await run_in_threadpool(validate_options, upload.fields, settings, sessions, caller.key_id)
    except BaseException:
        upload.discard()
        raise
    job, created = await run_in_threadpool(
        lambda: store_and_enqueue(
            upload,
            owner=caller.key_id,
            options=options,
            idempotency_key=idempotency_key,
            settings=settings,
            intake=intake,
            tenant_id=caller.tenant_id,
        )
    )
    if created:
        await run_in_threadpool(audit.record, sessions, caller.audit(Action.JOB_CREATED, object_type="job", object_id=job.id))
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.from_job(job)


@router.get("", response_model=JobList, summary="The tenant's jobs (an uploader's own), newest first")
def list_jobs(
    caller: CallerDep,
    sessions: SessionsDep,
    status: JobStatus | None = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
    cursor: PageCursor = None,
) -> JobList:
    owner = caller.key_id if caller.role == Role.uploader else None
    listing = Listing(tenant_id=caller.tenant_id, owner=owner, status=status)
    return job_page(sessions, listing, limit, offset, cursor)


@router.get("/{job_id}", response_model=JobPublic, summary="Status, stage, progress, timings and error of a job")
def get_job(job_id: str, caller: CallerDep, sessions: SessionsDep) -> JobPublic:
    return JobPublic.from_job(own_job(sessions, job_id, caller))


@router.get(
    "/{job_id}/transcript",
    summary="The transcript as json, txt (timed), txt-plain, srt, vtt, rttm (speaker turns, diarized jobs) or docx",
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def get_transcript(
    job_id: str,
    caller: CallerDep,
    sessions: SessionsDep,
    storage: StorageDep,
    settings: SettingsDep,
    format: TranscriptFormat = "json",  # noqa: A002 - the public parameter name
    revision: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="a revision of the transcript: 0 the machine one; default the latest")
    ] = None,
) -> Response:
    job = own_job(sessions, job_id, caller)
    _refuse_purged(job, "transcript")
    if job.status != JobStatus.completed or not job.transcript_key:
        raise ApiError(409, "transcript_not_ready", f"job {job_id} is {job.status}; the transcript exists once it is completed")
    number, transcript = load_revision(sessions, storage, job, revision)
    # Every revision is shown with the job's speaker names.
    transcript = with_speaker_names(transcript, revisions.speaker_names(sessions, job.id))
    detail = {"format": format, "revision": number}
    audit.record(sessions, caller.audit(Action.TRANSCRIPT_READ, object_type="job", object_id=job_id, detail=detail))
    if format == "json":
        return Response(to_json(transcript), media_type=MEDIA_TYPES[format], headers={"X-Transcript-Revision": str(number)})
    if format not in formats_for(transcript):
        raise ApiError(409, "not_diarized", f"job {job_id} was not diarized; format {format} needs diarize=true")
    return _export(job, transcript, format, storage, settings)


def _export(job, transcript: Transcript, fmt: str, storage, settings: Settings) -> Response:
    """A rendered format; DOCX as a download, with the summary when the job has one."""
    options = ExportOptions(name=job.id, subtitles=subtitle_options(settings))
    if not FORMAT_TABLE[fmt].binary:
        return Response(export(transcript, fmt, options), media_type=MEDIA_TYPES[fmt])
    summary = None
    if job.summary_status == SummaryStatus.completed and job.summary_key:
        try:
            summary = Summary.model_validate_json(storage.read_bytes(job.summary_key))
        except (ObjectNotFound, ValueError):
            # Deleted meanwhile, or stored by a version whose schema this one cannot read (a
            # ValidationError is a ValueError): the document goes without it.
            summary = None
    stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
    # SQLite gives the stored UTC time back without its zone.
    created_at = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
    options = replace(options, title=job.filename, created_at=created_at, summary=summary)
    return Response(
        export(transcript, fmt, options),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(file_name(stem or job.id, fmt))},
    )


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the real one in RFC 6266's filename*."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/{job_id}/audio",
    summary="The recording with a tone over every redacted span (?redacted=true, jobs with redact_audio=true)",
    responses={
        200: {"content": {"audio/flac": {}}},
        404: {"description": "the job did not ask for redact_audio"},
        409: {"description": "the job is not completed yet"},
        410: {"description": "the audio was deleted (retention)"},
    },
)
def get_audio(job_id: str, caller: CallerDep, sessions: SessionsDep, storage: StorageDep, redacted: bool = False) -> Response:
    job = own_job(sessions, job_id, caller)
    if not redacted:
        raise ApiError(400, "invalid_option", "only the redacted copy of a recording is served here: ask with ?redacted=true")
    try:
        asked = JobOptions.from_stored(job.options).redact_audio
    except ValueError:
        asked = False
    if not asked:
        raise ApiError(404, "redacted_audio_not_requested", f"job {job_id} did not ask for redact_audio=true")
    if job.audio_purged_at is not None or job.results_purged_at is not None:
        raise ApiError(410, "audio_purged", f"the audio of job {job_id} was deleted under the tenant's retention period")
    if job.status != JobStatus.completed:
        raise ApiError(409, "audio_not_ready", f"job {job_id} is {job.status}; the redacted audio exists once it is completed")
    try:
        # Whole in memory: 16 kHz mono FLAC, about 60 MB for an hour.
        data = storage.read_bytes(jobs.redacted_audio_key(job_id))
    except ObjectNotFound as e:
        raise ApiError(410, "audio_gone", f"the redacted audio of job {job_id} is no longer stored") from e
    audit.record(sessions, caller.audit(Action.AUDIO_READ, object_type="job", object_id=job_id, detail={"redacted": True}))
    stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
    return Response(
        data, media_type="audio/flac", headers={"Content-Disposition": content_disposition(f"{stem or job.id}.redacted.flac")}
    )


@router.get(
    "/{job_id}/summary",
    summary="The Swedish summary as JSON, or Markdown with ?format=md",
    responses={
        200: {"content": {"application/json": {}, "text/markdown; charset=utf-8": {}}},
        404: {"description": "no summary was asked for (POST one)"},
        409: {"description": "the summary is pending or running, or it failed (the error says why)"},
    },
)
def get_summary(
    job_id: str,
    caller: CallerDep,
    sessions: SessionsDep,
    storage: StorageDep,
    format: Literal["json", "md"] = "json",  # noqa: A002 - the public parameter name
) -> Response:
    job = own_job(sessions, job_id, caller)
    _refuse_purged(job, "summary")
    status = job.summary_status or SummaryStatus.none
    if status == SummaryStatus.none:
        raise ApiError(
            404,
            "summary_not_requested",
            f"no summary was asked for job {job_id}; upload with summarize=true or POST /v1/jobs/{job_id}/summary",
        )
    if status == SummaryStatus.failed:
        raise ApiError(
            409,
            "summary_failed",
            f"the summary failed ({job.summary_error_code}): {job.summary_error}; POST /v1/jobs/{job_id}/summary to try again",
        )
    if status != SummaryStatus.completed or not job.summary_key:
        raise ApiError(409, "summary_not_ready", f"the summary of job {job_id} is {status}; it exists once it is completed")
    try:
        stored = storage.read_bytes(job.summary_key).decode("utf-8")
    except ObjectNotFound as e:
        raise ApiError(410, "summary_gone", f"the summary of job {job_id} is no longer stored") from e
    audit.record(sessions, caller.audit(Action.SUMMARY_READ, object_type="job", object_id=job_id, detail={"format": format}))
    if format == "md":
        return Response(to_markdown(Summary.model_validate_json(stored), job.filename), media_type="text/markdown; charset=utf-8")
    return Response(stored, media_type="application/json")


@router.post(
    "/{job_id}/summary",
    status_code=202,
    response_model=JobPublic,
    summary="Ask for a (new) summary of a completed job, e.g. after one failed",
)
def request_summary(job_id: str, caller: CallerDep, sessions: SessionsDep, celery: CeleryDep) -> JobPublic:
    job = own_job(sessions, job_id, caller)
    _refuse_purged(job, "transcript")
    if job.status != JobStatus.completed:
        raise ApiError(409, "transcript_not_ready", f"job {job_id} is {job.status}; a summary needs the completed transcript")
    if not jobs.request_summary(sessions, job_id):
        current = jobs.get_job(sessions, job_id)
        raise ApiError(
            409,
            "summary_in_progress",
            f"the summary of job {job_id} is {current.summary_status if current else 'gone'}; wait for it to finish",
        )
    try:
        celery.send_task(SUMMARIZE_TASK, args=[job_id], queue=CPU_QUEUE)
    except Exception as e:  # noqa: BLE001 - kombu raises many connection error types
        jobs.reset_summary_request(sessions, job)
        raise ApiError(503, "broker_unavailable", f"the job queue is unavailable; nothing changed: {e}") from e
    return JobPublic.from_job(own_job(sessions, job_id, caller))


@router.delete("/{job_id}", status_code=204, summary="Delete a job with its audio and results")
def delete_job(job_id: str, caller: CallerDep, sessions: SessionsDep, intake: IntakeDep) -> Response:
    job = own_job(sessions, job_id, caller)
    may_change(caller, job)
    if job.legal_hold_at is not None:
        raise ApiError(
            409, "legal_hold", f"job {job_id} is under legal hold; an admin releases it first (DELETE /v1/jobs/{job_id}/hold)"
        )
    remove_job(intake, job_id)
    audit.record(sessions, caller.audit(Action.JOB_DELETED, object_type="job", object_id=job_id))
    return Response(status_code=204)


def _refuse_purged(job: Job, what: str) -> None:
    """Content deleted under the tenant's retention is 410 Gone, saying when and why."""
    if job.results_purged_at is not None:
        when = as_utc(job.results_purged_at).isoformat(timespec="seconds")
        raise ApiError(
            410,
            f"{what}_purged",
            f"the {what} of job {job.id} was deleted at {when} under the tenant's retention period for results",
        )
