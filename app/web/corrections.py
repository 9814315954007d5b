"""Correcting a transcript in the web app: name the speakers, edit segment texts (a textarea per
segment, saved as a new revision), and see what a revision changed against the machine
transcript (a word diff rendered on the server). Each calls the REST route's own function with
the session's caller (app/routes/revisions.py), so roles, tenants, retention and audit apply."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from app.deps import SessionsDep, StorageDep
from app.errors import ApiError
from app.revision_schemas import RevisionCreate, SegmentText
from app.routes import revisions as rest
from app.routes.lookups import own_job
from app.web.render import SignedInDep, error_page, page, redirect
from app.web.sessions import csrf_ok
from app.web.transcript_view import clock
from workers.store import revisions
from workers.transcript.corrections import normalize_text, speaker_labels, transcript_diff, with_speaker_names

router = APIRouter(include_in_schema=False)

# A long recording has a segment every few seconds: room for a day's worth of fields.
_MAX_FORM_FIELDS = 50_000


async def _form(web, request: Request):
    form = await request.form(max_fields=_MAX_FORM_FIELDS)
    if not csrf_ok(web.request, web.session, form.get("csrf")):  # type: ignore[arg-type]
        raise ApiError(403, "csrf_failed", "the form's security token is missing or stale: reload the page and try again")
    return form


@router.get("/jobs/{job_id}/edit")
def edit_page(web: SignedInDep, job_id: str, sessions: SessionsDep, storage: StorageDep) -> Response:
    assert web.caller is not None
    try:
        job = rest.completed_job(sessions, job_id, web.caller)
        number, transcript = rest.load_revision(sessions, storage, job)
        machine = transcript if number == 0 else rest.load_revision(sessions, storage, job, 0)[1]
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    names = revisions.speaker_names(sessions, job.id)
    shown = with_speaker_names(transcript, names)
    return page(
        web,
        "edit.html",
        job=job,
        revision=number,
        speakers=[(label, names.get(label, "")) for label in speaker_labels(machine)],
        segments=[(s.id, clock(s.start_s), s.speaker, s.text.strip()) for s in shown.segments],
    )


@router.post("/jobs/{job_id}/speakers")
async def save_speakers(web: SignedInDep, job_id: str, request: Request, sessions: SessionsDep, storage: StorageDep) -> Response:
    assert web.caller is not None
    try:
        form = await _form(web, request)
        labels, values = form.getlist("label"), form.getlist("name")
        if len(labels) != len(values):
            raise ApiError(422, "invalid_request", "every speaker needs one name field")
        # An empty field: the speaker keeps its label.
        names = {str(label): str(name) for label, name in zip(labels, values, strict=True) if str(name).strip()}
        rest.put_speaker_names(job_id, web.caller, sessions, storage, names)
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    return redirect(web, f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/revisions")
async def save_revision(web: SignedInDep, job_id: str, request: Request, sessions: SessionsDep, storage: StorageDep) -> Response:
    assert web.caller is not None
    try:
        form = await _form(web, request)
        job = rest.completed_job(sessions, job_id, web.caller)
        try:
            base = int(str(form.get("base_revision", "")))
        except ValueError as e:
            raise ApiError(422, "invalid_request", "the form names no revision; reload the page") from e
        _, current = rest.load_revision(sessions, storage, job, base)
        edits = []
        for segment in current.segments:
            text = form.get(f"seg-{segment.id}")
            if text is not None and normalize_text(str(text)) != normalize_text(segment.text):
                edits.append(SegmentText(id=segment.id, text=str(text)))
        if not edits:
            raise ApiError(422, "nothing_changed", "no text was changed; nothing to save")
        note = str(form.get("note", "")).strip() or None
        body = RevisionCreate(segments=edits, base_revision=base, note=note)
        created = rest.create_revision(job_id, body, web.caller, sessions, storage, Response())
    except ValidationError as e:
        return error_page(web, 422, "invalid_request", "; ".join(str(p["msg"]) for p in e.errors()))
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    return redirect(web, f"/jobs/{job_id}/revisions/{created.revision}")


@router.get("/jobs/{job_id}/revisions/{revision}")
def revision_page(web: SignedInDep, job_id: str, revision: int, sessions: SessionsDep, storage: StorageDep) -> Response:
    """Revision `revision` against the machine transcript (0), word by word."""
    assert web.caller is not None
    try:
        job = own_job(sessions, job_id, web.caller)
        listed = rest.list_revisions(job_id, web.caller, sessions)
        if not 0 <= revision < 2**31:
            raise ApiError(404, "revision_not_found", f"job {job_id} has no revision {revision}")
        _, machine = rest.load_revision(sessions, storage, job, 0)
        _, revised = rest.load_revision(sessions, storage, job, revision)
    except ApiError as e:
        return error_page(web, e.status_code, e.code, e.message)
    names = revisions.speaker_names(sessions, job.id)
    diffs = transcript_diff(with_speaker_names(machine, names), with_speaker_names(revised, names))
    return page(
        web,
        "revision.html",
        job=job,
        revision=revision,
        listed=listed,
        diffs=[(d, clock(d.start_s)) for d in diffs if d.changed],
    )
