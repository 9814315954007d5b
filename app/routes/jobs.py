"""/v1/jobs: upload, list, inspect, fetch the transcript, delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from workers import jobs
from workers.languages import parse_language
from workers.pipeline.formats import render, transcript_from_json
from workers.settings import Settings
from workers.storage import ObjectNotFound
from workers.webhooks import store

from ..deps import CeleryDep, OwnerDep, SessionsDep, SettingsDep, StorageDep
from ..errors import ApiError
from ..schemas import JOB_OPTION_FIELDS, JobList, JobOptions, JobPublic
from ..uploads import multipart_openapi, receive_upload, store_and_enqueue
from .lookups import checked_webhook_url, own_job

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

MEDIA_TYPES = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}

_UPLOAD_BODY = multipart_openapi(
    ["file"],
    {
        "file": {"type": "string", "format": "binary", "description": "The recording (any common audio or video format)."},
        **{name: {"type": "string", "description": field.description} for name, field in JobOptions.model_fields.items()},
    },
)


def validate_options(fields: dict[str, str], settings: Settings, sessions, owner: str) -> dict:
    options = JobOptions(**{k: (v.strip() or None) for k, v in fields.items()})
    allowed_models = settings.allowed_models
    if options.language is not None:
        try:
            parse_language(options.language)
        except ValueError as e:
            raise ApiError(400, "invalid_option", str(e)) from e
    if options.model is not None and options.model not in allowed_models:
        raise ApiError(400, "invalid_option", f"model {options.model!r} is not offered here; available: {', '.join(allowed_models)}")
    if options.webhook_url is not None:
        checked_webhook_url(options.webhook_url, settings)
        if store.get_endpoint(sessions, owner) is None:
            raise ApiError(400, "no_webhook_secret", "create this key's webhook signing secret first: PUT /v1/webhook")
    return options.model_dump(exclude_none=True)


@router.post("", status_code=202, response_model=JobPublic, openapi_extra=_UPLOAD_BODY,
             summary="Upload a recording and queue its transcription")
async def create_job(
    request: Request, response: Response, owner: OwnerDep, settings: SettingsDep, sessions: SessionsDep,
    storage: StorageDep, celery: CeleryDep, idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JobPublic:
    if idempotency_key:
        existing = await run_in_threadpool(jobs.find_by_idempotency_key, sessions, owner, idempotency_key)
        if existing is not None:
            return JobPublic.from_job(existing)
    upload = await receive_upload(request, settings, set(JOB_OPTION_FIELDS))
    try:
        options = await run_in_threadpool(validate_options, upload.fields, settings, sessions, owner)
    except BaseException:
        upload.discard()
        raise
    job, _created = await run_in_threadpool(
        lambda: store_and_enqueue(upload, owner=owner, options=options, idempotency_key=idempotency_key,
                                  settings=settings, sessions=sessions, storage=storage, celery=celery)
    )
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return JobPublic.from_job(job)


@router.get("", response_model=JobList, summary="The caller's jobs, newest first")
def list_jobs(
    owner: OwnerDep, sessions: SessionsDep,
    status: Literal["queued", "running", "completed", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobList:
    found, total = jobs.list_jobs(sessions, owner, status, limit, offset)
    return JobList(jobs=[JobPublic.from_job(j) for j in found], total=total, limit=limit, offset=offset)


@router.get("/{job_id}", response_model=JobPublic, summary="Status, stage, progress, timings and error of a job")
def get_job(job_id: str, owner: OwnerDep, sessions: SessionsDep) -> JobPublic:
    return JobPublic.from_job(own_job(sessions, job_id, owner))


@router.get("/{job_id}/transcript", summary="The transcript as json, txt, srt or vtt",
            responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
def get_transcript(
    job_id: str, owner: OwnerDep, sessions: SessionsDep, storage: StorageDep,
    format: Literal["json", "txt", "srt", "vtt"] = "json",  # noqa: A002 - the public parameter name
) -> Response:
    job = own_job(sessions, job_id, owner)
    if job.status != "completed" or not job.transcript_key:
        raise ApiError(409, "transcript_not_ready", f"job {job_id} is {job.status}; the transcript exists once it is completed")
    try:
        stored = storage.read_bytes(job.transcript_key).decode("utf-8")
    except ObjectNotFound as e:
        raise ApiError(410, "transcript_gone", f"the transcript of job {job_id} is no longer stored") from e
    body = stored if format == "json" else render(transcript_from_json(stored), format)
    return Response(body, media_type=MEDIA_TYPES[format])


@router.delete("/{job_id}", status_code=204, summary="Delete a job with its audio and results")
def delete_job(job_id: str, owner: OwnerDep, sessions: SessionsDep, storage: StorageDep) -> Response:
    own_job(sessions, job_id, owner)
    # Row first: a worker that finishes afterwards finds no job and removes what it wrote.
    jobs.delete_job(sessions, job_id)
    store.delete_for_job(sessions, job_id)
    storage.delete_prefix(jobs.job_prefix(job_id))
    return Response(status_code=204)
