"""Corrected transcripts and speaker names: the rows of transcript_revisions and speaker_names.

Revision 0 is the machine transcript (the job's `transcript_key`); a correction stores its
whole transcript as an object under the job's prefix and adds a row numbered one past the
latest. Both are results: the retention purge and a job's deletion remove them with the
transcript (workers/runners/purge.py, workers/intake/submit.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workers.store import jobs
from workers.store.db import Job, SpeakerName, TranscriptRevision, new_id, utcnow
from workers.store.storage import Storage
from workers.transcript.corrections import with_speaker_names
from workers.transcript.formats import to_json, transcript_from_json
from workers.transcript.types import Transcript


class RevisionConflict(Exception):
    """Another correction was saved first: the one asked for was based on an older revision."""


def new_revision_key(job_id: str, revision: int) -> str:
    """Where a correction's transcript is stored, under the job's prefix (deleted with it). Its
    own random part: two corrections saved at once never overwrite each other's object."""
    return f"{jobs.job_prefix(job_id)}/transcript.r{revision}.{new_id()[:12]}.json"


def list_revisions(sessions: sessionmaker, job_id: str) -> list[TranscriptRevision]:
    """Revisions 1, 2, ... oldest first (revision 0 has no row)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(TranscriptRevision).where(TranscriptRevision.job_id == job_id).order_by(TranscriptRevision.revision)
            )
        )


def get_revision(sessions: sessionmaker, job_id: str, revision: int) -> TranscriptRevision | None:
    with sessions() as session:
        return session.scalar(
            select(TranscriptRevision).where(TranscriptRevision.job_id == job_id, TranscriptRevision.revision == revision)
        )


def latest_revision(sessions: sessionmaker, job_id: str) -> int:
    """The number of the newest revision; 0 when nobody corrected the transcript."""
    with sessions() as session:
        return session.scalar(select(func.max(TranscriptRevision.revision)).where(TranscriptRevision.job_id == job_id)) or 0


def add_revision(
    sessions: sessionmaker,
    job_id: str,
    transcript_key: str,
    key_id: str | None,
    note: str | None,
    segments_changed: int,
    base_revision: int,
) -> TranscriptRevision:
    """The row of revision `base_revision + 1`, whose transcript the caller has stored at
    `transcript_key` (a name of its own: see `new_revision_key`). RevisionConflict when
    `base_revision` is no longer the latest: someone saved a correction meanwhile."""
    latest = latest_revision(sessions, job_id)
    if base_revision != latest:
        raise RevisionConflict(f"revision {latest} is the latest; this correction was made to revision {base_revision}")
    row = TranscriptRevision(
        job_id=job_id,
        revision=base_revision + 1,
        created_at=utcnow(),
        key_id=key_id,
        transcript_key=transcript_key,
        note=note,
        segments_changed=segments_changed,
    )
    with sessions() as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError as e:
            # Two corrections at once: the unique (job_id, revision) lets one win.
            raise RevisionConflict(f"another correction of revision {base_revision} was saved first") from e
    return row


def speaker_names(sessions: sessionmaker, job_id: str) -> dict[str, str]:
    with sessions() as session:
        rows = session.scalars(select(SpeakerName).where(SpeakerName.job_id == job_id).order_by(SpeakerName.label))
        return {r.label: r.name for r in rows}


def set_speaker_names(sessions: sessionmaker, job_id: str, names: Mapping[str, str]) -> dict[str, str]:
    """Replace the job's names with `names` (a label left out goes back to its label)."""
    with sessions() as session:
        session.execute(delete(SpeakerName).where(SpeakerName.job_id == job_id))
        session.add_all(SpeakerName(job_id=job_id, label=label, name=name) for label, name in names.items())
        session.commit()
    return dict(sorted(names.items()))


def transcript_keys(session: Session, job_id: str) -> list[str]:
    """The stored objects of the job's corrections (for a purge that keeps the audio), read in
    the purge's own transaction."""
    return list(session.scalars(select(TranscriptRevision.transcript_key).where(TranscriptRevision.job_id == job_id)))


def delete_for_job(sessions: sessionmaker, job_id: str) -> None:
    """The rows of a job's corrections and names (their objects go with the job's results)."""
    with sessions() as session:
        delete_for_job_in(session, job_id)
        session.commit()


def delete_for_job_in(session: Session, job_id: str) -> None:
    """The same inside a transaction of the caller's (the purge's), which commits it."""
    session.execute(delete(TranscriptRevision).where(TranscriptRevision.job_id == job_id))
    session.execute(delete(SpeakerName).where(SpeakerName.job_id == job_id))


class RevisionNotFound(LookupError):
    pass


def transcript_key_of(sessions: sessionmaker, job: Job, revision: int | None = None) -> tuple[int, str]:
    """The number and stored object of a revision of the job's transcript: `revision`, or the
    latest when None; 0 is the machine transcript. RevisionNotFound for one that does not exist
    (the job must be completed, with a transcript)."""
    if revision is None:
        revision = latest_revision(sessions, job.id)
    if revision == 0:
        if not job.transcript_key:
            raise RevisionNotFound(f"job {job.id} has no transcript")
        return 0, job.transcript_key
    row = get_revision(sessions, job.id, revision)
    if row is None:
        raise RevisionNotFound(f"job {job.id} has no revision {revision} of its transcript")
    return revision, row.transcript_key


def read_transcript(sessions: sessionmaker, storage: Storage, job: Job, revision: int | None = None) -> tuple[int, Transcript]:
    """A revision of the job's transcript (the latest by default), with the speaker labels as
    stored. RevisionNotFound, or the storage's ObjectNotFound."""
    number, key = transcript_key_of(sessions, job, revision)
    return number, transcript_from_json(storage.read_bytes(key).decode("utf-8"))


def current_transcript_json(sessions: sessionmaker, storage: Storage, job: Job) -> str:
    """What is served and sent as the job's transcript: the latest revision with the job's
    speaker names (the stored bytes themselves when nobody corrected or named anything)."""
    number, key = transcript_key_of(sessions, job)
    stored = storage.read_bytes(key).decode("utf-8")
    names = speaker_names(sessions, job.id)
    if number == 0 and not names:
        return stored
    return to_json(with_speaker_names(transcript_from_json(stored), names))
