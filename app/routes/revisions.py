"""Corrections by people: speaker names for the whole job, and corrected transcripts saved as
revisions (revision 0, the machine transcript, is kept). `GET /v1/jobs/{id}/transcript` serves
the latest revision with the names (app/routes/jobs.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from app.deps import CallerDep, SessionsDep, StorageDep
from app.errors import ApiError
from app.revision_schemas import RevisionCreate, RevisionList, RevisionPublic, SpeakerNamesPublic
from app.routes.lookups import own_job
from workers.store import audit, revisions
from workers.store.audit import Action
from workers.store.db import Job, JobStatus, TranscriptRevision, as_utc
from workers.store.storage import ObjectNotFound
from workers.transcript.corrections import (
    MAX_SPEAKER_NAME_CHARS,
    changed_segments,
    correct_segments,
    normalize_text,
    speaker_labels,
)
from workers.transcript.formats import to_json
from workers.transcript.types import Transcript

router = APIRouter(prefix="/v1/jobs", tags=["corrections"])


def completed_job(sessions, job_id: str, caller) -> Job:
    """A job the caller sees, with a transcript that exists: 404, 410 when purged, 409 until completed."""
    job = own_job(sessions, job_id, caller)
    if job.results_purged_at is not None:
        when = as_utc(job.results_purged_at).isoformat(timespec="seconds")
        raise ApiError(
            410, "transcript_purged", f"the transcript of job {job_id} was deleted at {when} under the tenant's retention period"
        )
    if job.status != JobStatus.completed or not job.transcript_key:
        raise ApiError(409, "transcript_not_ready", f"job {job_id} is {job.status}; the transcript exists once it is completed")
    return job


def load_revision(sessions, storage, job: Job, revision: int | None = None) -> tuple[int, Transcript]:
    """A revision (the latest by default) as stored, speaker labels unnamed: 404 for one that does not exist."""
    try:
        return revisions.read_transcript(sessions, storage, job, revision)
    except revisions.RevisionNotFound as e:
        raise ApiError(404, "revision_not_found", str(e)) from e
    except ObjectNotFound as e:
        raise ApiError(410, "transcript_gone", f"the transcript of job {job.id} is no longer stored") from e


def _clean(text: str, what: str) -> str:
    if any(not c.isprintable() and not c.isspace() for c in text):
        raise ApiError(422, "invalid_text", f"{what} contains control characters")
    return text


def check_speaker_names(transcript: Transcript, names: dict[str, str]) -> dict[str, str]:
    """The names as stored (trimmed), or 422: labels must exist, names be non-empty, at most
    MAX_SPEAKER_NAME_CHARS, and tell the speakers apart."""
    labels = speaker_labels(transcript)
    unknown = sorted(set(names) - set(labels))
    if unknown:
        known = ", ".join(labels) or "none (the job was not diarized)"
        raise ApiError(422, "unknown_speaker", f"no speaker {', '.join(unknown)} in this transcript; its speakers: {known}")
    cleaned = {}
    for label, name in names.items():
        name = " ".join(_clean(name, f"the name of {label}").split())
        if not name:
            raise ApiError(422, "invalid_speaker_name", f"the name of {label} is empty")
        if len(name) > MAX_SPEAKER_NAME_CHARS:
            raise ApiError(422, "invalid_speaker_name", f"the name of {label} is longer than {MAX_SPEAKER_NAME_CHARS} characters")
        cleaned[label] = name
    shown = [cleaned.get(label, label) for label in labels]
    if len(set(shown)) != len(shown):
        raise ApiError(422, "duplicate_speaker_name", "two speakers would have the same name; give each its own")
    return cleaned


@router.put(
    "/{job_id}/speakers",
    response_model=SpeakerNamesPublic,
    summary="Name the speakers for the whole job (label -> name); every format, download and webhook uses the names",
)
def put_speaker_names(
    job_id: str,
    caller: CallerDep,
    sessions: SessionsDep,
    storage: StorageDep,
    names: Annotated[dict[str, str], Body(examples=[{"Talare 1": "Anna Berg", "Talare 2": "Bo Ek"}])],
) -> SpeakerNamesPublic:
    job = completed_job(sessions, job_id, caller)
    _, transcript = load_revision(sessions, storage, job, 0)
    stored = revisions.set_speaker_names(sessions, job.id, check_speaker_names(transcript, names))
    # The count only: names are personal data and stay out of the audit trail.
    audit.record(
        sessions, caller.audit(Action.SPEAKERS_RENAMED, object_type="job", object_id=job.id, detail={"named": len(stored)})
    )
    return SpeakerNamesPublic(labels=list(speaker_labels(transcript)), names=stored)


@router.get("/{job_id}/speakers", response_model=SpeakerNamesPublic, summary="The job's speaker labels and their names")
def get_speaker_names(job_id: str, caller: CallerDep, sessions: SessionsDep, storage: StorageDep) -> SpeakerNamesPublic:
    job = completed_job(sessions, job_id, caller)
    _, transcript = load_revision(sessions, storage, job, 0)
    return SpeakerNamesPublic(labels=list(speaker_labels(transcript)), names=revisions.speaker_names(sessions, job.id))


def _public(row: TranscriptRevision) -> RevisionPublic:
    return RevisionPublic(
        revision=row.revision,
        created_at=as_utc(row.created_at),
        key_id=row.key_id,
        note=row.note,
        segments_changed=row.segments_changed,
    )


@router.get(
    "/{job_id}/transcript/revisions", response_model=RevisionList, summary="The transcript's revisions (0: the machine one)"
)
def list_revisions(job_id: str, caller: CallerDep, sessions: SessionsDep) -> RevisionList:
    job = completed_job(sessions, job_id, caller)
    machine = RevisionPublic(revision=0, created_at=as_utc(job.finished_at), key_id=None, note=None, segments_changed=0)
    rows = [_public(r) for r in revisions.list_revisions(sessions, job.id)]
    return RevisionList(
        latest=rows[-1].revision if rows else 0,
        revisions=[machine, *rows],
        speaker_names=revisions.speaker_names(sessions, job.id),
    )


@router.post(
    "/{job_id}/transcript/revisions",
    status_code=201,
    response_model=RevisionPublic,
    summary="Save corrected segment texts as a new revision of the transcript",
    responses={409: {"description": "not completed yet, or a newer revision exists (revision_conflict)"}},
)
def create_revision(
    job_id: str, body: RevisionCreate, caller: CallerDep, sessions: SessionsDep, storage: StorageDep, response: Response
) -> RevisionPublic:
    job = completed_job(sessions, job_id, caller)
    base, transcript = load_revision(sessions, storage, job, body.base_revision)
    if body.base_revision is not None and base != revisions.latest_revision(sessions, job.id):
        raise ApiError(
            409, "revision_conflict", f"revision {body.base_revision} is not the latest; load the latest and correct that"
        )
    texts: dict[int, str] = {}
    for edit in body.segments:
        if edit.id in texts:
            raise ApiError(422, "duplicate_segment", f"segment {edit.id} is given twice")
        texts[edit.id] = normalize_text(_clean(edit.text, f"the text of segment {edit.id}"))
    try:
        corrected = correct_segments(transcript, texts)
    except KeyError as e:
        raise ApiError(422, "unknown_segment", f"the transcript has no segment {e.args[0]}") from e
    changed = changed_segments(transcript, corrected)
    if changed == 0:
        raise ApiError(422, "nothing_changed", f"the texts are those of revision {base}; nothing to save")
    key = revisions.new_revision_key(job.id, base + 1)
    storage.save_bytes(key, to_json(corrected).encode("utf-8"))
    note = " ".join(_clean(body.note, "the note").split()) or None if body.note else None
    try:
        row = revisions.add_revision(sessions, job.id, key, caller.key_id, note, changed, base)
    except revisions.RevisionConflict as e:
        storage.delete(key)
        raise ApiError(409, "revision_conflict", str(e)) from e
    audit.record(
        sessions,
        caller.audit(
            Action.REVISION_CREATED,
            object_type="job",
            object_id=job.id,
            detail={"revision": row.revision, "segments_changed": changed},
        ),
    )
    response.headers["Location"] = f"/v1/jobs/{job.id}/transcript?revision={row.revision}"
    return _public(row)
