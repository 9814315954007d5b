"""The web app's routes: thin, and each calls what the REST route for the same thing calls (or
the REST route itself), with the session's caller, so tenant and role rules are the API's."""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import FileResponse

from app.deps import IntakeDep, SessionsDep, SettingsDep, StorageDep, record_refused_key
from app.errors import ApiError
from app.routes import jobs as rest
from app.routes import revisions as rest_revisions
from app.routes.lookups import own_job
from app.schemas import JobList, JobPublic
from app.web.forms import option_controls
from app.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from app.web.render import SignedInDep, WebDep, WebError, error_page, finish, page, redirect, safe_next
from app.web.sessions import CSRF_HEADER, WebSession, csrf_ok
from app.web.transcript_view import audio_source, byte_range_response, summary_view, transcript_view
from workers.documents.export import file_name
from workers.store import audit
from workers.store.audit import Action
from workers.store.db import JobStatus, Role, SummaryStatus
from workers.store.keys import lookup_key
from workers.store.storage import LocalStorage, ObjectNotFound
from workers.transcript.formats import FORMAT_TABLE, formats_for, transcript_from_json

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form(max_length=2000)]


def check_csrf(web, submitted: str | None) -> None:
    if not csrf_ok(web.request, web.session, submitted):
        raise WebError(403, "csrf_failed", "the form's security token is missing or stale: reload the page and try again")


@router.get("/")
def home(web: WebDep) -> Response:
    return redirect(web, "/jobs" if web.caller else "/sign-in")


@router.get("/sign-in")
def sign_in_page(web: WebDep, next: str | None = None) -> Response:  # noqa: A002 - the query's name
    if web.caller is not None:
        return redirect(web, safe_next(next))
    return page(web, "sign_in.html", next=safe_next(next), refused=False)


@router.post("/sign-in")
def sign_in(
    web: WebDep,
    key: Annotated[str, Form(max_length=500)] = "",
    csrf: FormText = "",
    next: FormText = "/jobs",  # noqa: A002 - the form field's name
) -> Response:
    check_csrf(web, csrf)
    record = lookup_key(web.sessions, key.strip()) if key.strip() else None
    if record is None or record.revoked_at is not None:
        record_refused_key(web.sessions, record, web.request, "revoked_key" if record else "unknown_key")
        return page(web, "sign_in.html", status_code=401, next=safe_next(next), refused=True)
    # A new nonce on signing in: a token or cookie planted before it is worth nothing after.
    return redirect(_with_session(web, WebSession.new(record.id)), safe_next(next))


@router.post("/sign-out")
def sign_out(web: WebDep, csrf: FormText = "") -> Response:
    check_csrf(web, csrf)
    return redirect(_with_session(web, WebSession.new()), "/sign-in")


@router.post("/language")
def choose_language(web: WebDep, lang: FormText = "", csrf: FormText = "", next: FormText = "/") -> Response:  # noqa: A002
    check_csrf(web, csrf)
    if lang not in LANGUAGES:
        raise WebError(400, "invalid_language", f"language must be one of {', '.join(LANGUAGES)}")
    response = redirect(web, safe_next(next))
    secure = web.request.url.scheme == "https"
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, path="/", samesite="strict", httponly=True, secure=secure)
    return response


@router.get("/upload")
def upload_page(web: SignedInDep) -> Response:
    return page(web, "upload.html", controls=option_controls(web.settings, web.t))


@router.post("/upload", status_code=202)
async def upload(
    web: SignedInDep, request: Request, response: Response, settings: SettingsDep, sessions: SessionsDep, intake: IntakeDep
) -> JobPublic:
    """One file per request (the page sends each file on its own, with its own progress),
    through the REST upload route itself: the same checks, submit() and audit record."""
    check_csrf(web, request.headers.get(CSRF_HEADER))
    assert web.caller is not None
    return await rest.create_job(request, response, web.caller, settings, sessions, intake, None)


@router.get("/jobs")
def jobs_page(web: SignedInDep, sessions: SessionsDep, status: JobStatus | None = None) -> Response:
    listed = _list(web, sessions, status)
    return page(
        web,
        "jobs.html",
        jobs=listed.jobs,
        total=listed.total,
        status=status.value if status else "",
        statuses=[s.value for s in JobStatus],
        may_delete=web.caller is not None and web.caller.role != Role.uploader,
    )


@router.get("/jobs.json")
def jobs_json(web: SignedInDep, sessions: SessionsDep, status: JobStatus | None = None) -> JobList:
    """For the list's live status: the REST list, with the session's caller."""
    return _list(web, sessions, status)


def _list(web, sessions, status: JobStatus | None) -> JobList:
    assert web.caller is not None
    return rest.list_jobs(web.caller, sessions, status, 200, 0)


@router.get("/jobs/{job_id}")
def job_page(web: SignedInDep, job_id: str, sessions: SessionsDep, storage: StorageDep, settings: SettingsDep) -> Response:
    assert web.caller is not None
    try:
        job = own_job(sessions, job_id, web.caller)
        view = summary = listed = None
        downloads: tuple[str, ...] = ()
        if job.status == JobStatus.completed:
            stored = rest.get_transcript(job_id, web.caller, sessions, storage, settings, "json")
            transcript = transcript_from_json(bytes(stored.body).decode("utf-8"))
            view, downloads = transcript_view(transcript), formats_for(transcript)
            listed = rest_revisions.list_revisions(job_id, web.caller, sessions)
            if job.summary_status == SummaryStatus.completed:
                body = rest.get_summary(job_id, web.caller, sessions, storage, "json").body
                summary = summary_view(bytes(body).decode("utf-8"))
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    return page(
        web,
        "job.html",
        job=JobPublic.from_job(job),
        view=view,
        summary=summary,
        summary_status=SummaryStatus(job.summary_status or SummaryStatus.none).value,
        downloads=downloads,
        listed=listed,
        has_audio=audio_source(job) is not None,
    )


@router.get("/jobs/{job_id}/state")
def job_state(web: SignedInDep, job_id: str, sessions: SessionsDep) -> JobPublic:
    """For an unfinished job's page: the REST job, with the session's caller."""
    assert web.caller is not None
    return rest.get_job(job_id, web.caller, sessions)


@router.get("/jobs/{job_id}/audio")
def job_audio(web: SignedInDep, job_id: str, request: Request, sessions: SessionsDep, storage: StorageDep) -> Response:
    """The recording for the player, with Range requests (seeking). A job that redacted its
    audio plays the toned copy; one that redacted only its text plays nothing (the spoken
    personal data is in the original)."""
    assert web.caller is not None
    job = own_job(sessions, job_id, web.caller)
    key = audio_source(job)
    if key is None:
        raise ApiError(404, "audio_not_available", f"the audio of job {job_id} is not served (deleted, redacted or not ready)")
    range_header = request.headers.get("range")
    if not range_header or range_header.replace(" ", "").startswith("bytes=0-"):
        # Once per playback, not for every seek.
        audit.record(sessions, web.caller.audit(Action.AUDIO_READ, object_type="job", object_id=job_id, detail={"web": True}))
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    try:
        if isinstance(storage, LocalStorage):
            # The stored file itself (writers replace, never rewrite it); Starlette answers Range.
            with storage.local_copy(key) as path:
                return finish(web, FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"}))
        data = storage.read_bytes(key)
    except ObjectNotFound as e:
        raise ApiError(410, "audio_gone", f"the audio of job {job_id} is no longer stored") from e
    return finish(web, byte_range_response(data, range_header, media_type))


@router.get("/jobs/{job_id}/download/{fmt}")
def download(
    web: SignedInDep, job_id: str, fmt: str, sessions: SessionsDep, storage: StorageDep, settings: SettingsDep
) -> Response:
    assert web.caller is not None
    if fmt not in FORMAT_TABLE:
        return error_page(web, 404, "unknown_format", f"no format {fmt!r}; formats: {', '.join(FORMAT_TABLE)}")
    try:
        job = own_job(sessions, job_id, web.caller)
        response = rest.get_transcript(job_id, web.caller, sessions, storage, settings, fmt)  # type: ignore[arg-type]
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    if "content-disposition" not in response.headers:
        stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
        response.headers["Content-Disposition"] = rest.content_disposition(file_name(stem or job.id, fmt))
    return finish(web, response)


@router.post("/jobs/{job_id}/delete")
def delete(web: SignedInDep, job_id: str, sessions: SessionsDep, intake: IntakeDep, csrf: FormText = "") -> Response:
    check_csrf(web, csrf)
    assert web.caller is not None
    try:
        rest.delete_job(job_id, web.caller, sessions, intake)
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    return redirect(web, "/jobs")


def _with_session(web, session: WebSession):
    return replace(web, session=session)
