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
from sqlalchemy.orm import sessionmaker

from workers.store import jobs
from workers.store.db import SpeakerName, TranscriptRevision, utcnow

_ADD_TRIES = 20


class RevisionConflict(Exception):
    """Another correction was saved first: the one asked for was based on an older revision."""


def revision_key(job_id: str, revision: int) -> str:
    return f"{jobs.job_prefix(job_id)}/transcript.r{revision}.json"


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
    key_id: str | None,
    note: str | None,
    segments_changed: int,
    base_revision: int | None = None,
) -> TranscriptRevision:
    """A row for the next revision; its `transcript_key` is where the caller stores the
    transcript (after this returns: a row whose object is missing reads as gone, never as a
    wrong transcript). With `base_revision`, RevisionConflict if a newer one exists."""
    for _ in range(_ADD_TRIES):
        latest = latest_revision(sessions, job_id)
        if base_revision is not None and base_revision != latest:
            raise RevisionConflict(f"revision {latest} is the latest; this correction was made to revision {base_revision}")
        number = latest + 1
        row = TranscriptRevision(
            job_id=job_id,
            revision=number,
            created_at=utcnow(),
            key_id=key_id,
            transcript_key=revision_key(job_id, number),
            note=note,
            segments_changed=segments_changed,
        )
        with sessions() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                # Two corrections at once: the unique (job_id, revision) lets one win.
                session.rollback()
                continue
            return row
    raise RevisionConflict("too many corrections saved at once; try again")


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


def transcript_keys(sessions: sessionmaker, job_id: str) -> list[str]:
    """The stored objects of the job's corrections (for a purge that keeps the audio)."""
    with sessions() as session:
        return list(session.scalars(select(TranscriptRevision.transcript_key).where(TranscriptRevision.job_id == job_id)))


def delete_for_job(sessions: sessionmaker, job_id: str) -> None:
    """The rows of a job's corrections and names (their objects go with the job's results)."""
    with sessions() as session:
        session.execute(delete(TranscriptRevision).where(TranscriptRevision.job_id == job_id))
        session.execute(delete(SpeakerName).where(SpeakerName.job_id == job_id))
        session.commit()
