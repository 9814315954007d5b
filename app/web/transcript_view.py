"""The transcript page's data: words with their times for the player, the summary with its
citations, which recording the player may play, and Range answers for stored bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Response

from app.errors import ApiError
from workers.intake.options import JobOptions
from workers.store import jobs
from workers.store.db import Job, JobStatus
from workers.summary.schema import Citation, Summary
from workers.transcript.types import Transcript

# Below this Whisper word probability a word is marked for the reader to check.
LOW_CONFIDENCE = 0.5


def clock(seconds: float) -> str:
    """[h:]mm:ss, as the txt format and the summary's citations show times."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class WordView:
    text: str
    start: str  # seconds, as the data attribute carries them
    end: str
    low: bool


@dataclass(frozen=True)
class SegmentView:
    id: int
    start: str
    clock: str
    speaker: str | None
    words: tuple[WordView, ...]
    text: str  # for segments without word timings


def transcript_view(transcript: Transcript) -> tuple[SegmentView, ...]:
    return tuple(
        SegmentView(
            id=s.id,
            start=f"{s.start_s:.3f}",
            clock=clock(s.start_s),
            speaker=s.speaker,
            words=tuple(
                WordView(w.text.strip(), f"{w.start_s:.3f}", f"{w.end_s:.3f}", w.probability < LOW_CONFIDENCE)
                for w in s.words
                if w.text.strip()
            ),
            text=s.text.strip(),
        )
        for s in transcript.segments
    )


@dataclass(frozen=True)
class CitationView:
    segment_id: int
    start: str
    end: str
    clock: str


@dataclass(frozen=True)
class ItemView:
    text: str
    detail: str | None
    citations: tuple[CitationView, ...]


@dataclass(frozen=True)
class SummaryView:
    abstract: str
    matter: str
    decisions: tuple[ItemView, ...]
    action_items: tuple[ItemView, ...]
    open_questions: tuple[str, ...]
    notice: str | None


def _citations(citations: list[Citation]) -> tuple[CitationView, ...]:
    return tuple(CitationView(c.segment_id, f"{c.start_s:.3f}", f"{c.end_s:.3f}", clock(c.start_s)) for c in citations)


def summary_view(stored: str) -> SummaryView:
    summary = Summary.model_validate_json(stored)
    return SummaryView(
        abstract=summary.abstract,
        matter=summary.matter,
        decisions=tuple(ItemView(d.text, None, _citations(d.citations)) for d in summary.decisions),
        action_items=tuple(
            ItemView(a.text, " · ".join(x for x in (a.owner, a.deadline) if x) or None, _citations(a.citations))
            for a in summary.action_items
        ),
        open_questions=tuple(summary.open_questions),
        notice=summary.notice,
    )


def audio_source(job: Job) -> str | None:
    """The stored key the player may play, or None: the toned copy of a job that redacted its
    audio (once completed); nothing for a job that redacted only its text, since the original
    recording carries the spoken personal data; else the recording as uploaded."""
    if job.audio_purged_at is not None or job.results_purged_at is not None:
        return None
    try:
        options = JobOptions.from_stored(job.options)
    except ValueError:
        return None
    if options.redact_audio:
        return jobs.redacted_audio_key(job.id) if job.status == JobStatus.completed else None
    if options.redacting:
        return None
    return job.audio_key


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range_response(data: bytes, range_header: str | None, media_type: str) -> Response:
    """The bytes, or the one range asked for (206); 416 for a range outside them. Only single
    ranges: what media elements ask for."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    size = len(data)
    if not range_header:
        return Response(data, media_type=media_type, headers=headers)
    match = _RANGE.match(range_header.replace(" ", ""))
    if not match or match.groups() == ("", ""):
        raise ApiError(416, "invalid_range", f"unsupported range {range_header[:100]!r}", {"Content-Range": f"bytes */{size}"})
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ApiError(
            416,
            "invalid_range",
            f"the range {range_header[:100]!r} is outside the {size} bytes",
            {"Content-Range": f"bytes */{size}"},
        )
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)
