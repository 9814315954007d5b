"""Wire format of speaker names and transcript revisions (corrections by people)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workers.transcript.corrections import MAX_SEGMENT_TEXT_CHARS

MAX_SEGMENTS_PER_REVISION = 5000


class SegmentText(BaseModel):
    """A segment's whole corrected text. Its time span is kept; with as many words as before each
    word keeps its times, otherwise the words are shared out over the span by length."""

    id: int = Field(ge=0, description="the segment's id, as in the transcript JSON")
    text: str = Field(max_length=MAX_SEGMENT_TEXT_CHARS, description="the corrected text; empty removes the segment's words")


class RevisionCreate(BaseModel):
    segments: list[SegmentText] = Field(min_length=1, max_length=MAX_SEGMENTS_PER_REVISION)
    base_revision: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="the revision these corrections were made to; 409 revision_conflict if a newer one exists. "
        "Default: the latest",
    )
    note: str | None = Field(default=None, max_length=200, description="a short note: what was corrected")


class RevisionPublic(BaseModel):
    revision: int = Field(description="0 is the machine transcript")
    created_at: datetime | None
    key_id: str | None = Field(description="the key that saved it; null for the machine transcript")
    note: str | None
    segments_changed: int


class RevisionList(BaseModel):
    latest: int
    revisions: list[RevisionPublic]
    speaker_names: dict[str, str]


class SpeakerNamesPublic(BaseModel):
    labels: list[str] = Field(description="every speaker label of the transcript, in order of appearance")
    names: dict[str, str] = Field(description="label -> name, for the labels that have one")
