"""Any format of the table (workers/transcript/formats.py) as the bytes of a file: text formats
as UTF-8, DOCX as a document with the summary when there is one. The CLI, the REST API and the
ingest outbox all write what this returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from workers.documents.docx import DocumentInfo, to_docx
from workers.settings import Settings
from workers.summary.schema import Summary
from workers.transcript.formats import FORMAT_TABLE, SubtitleOptions, render
from workers.transcript.types import Transcript


@dataclass(frozen=True)
class ExportOptions:
    # The recording's name: RTTM's file id (spaces become underscores) and, without a title, the document's title.
    name: str = "audio"
    title: str | None = None
    # When the recording was received or transcribed (the document's date); now when None.
    created_at: datetime | None = None
    summary: Summary | None = None
    subtitles: SubtitleOptions = field(default_factory=SubtitleOptions)


def export(transcript: Transcript, fmt: str, options: ExportOptions = ExportOptions()) -> bytes:
    """ValueError for a format not in the table, or one this transcript cannot have (RTTM)."""
    if fmt in FORMAT_TABLE and FORMAT_TABLE[fmt].binary:
        info = DocumentInfo(
            title=options.title or options.name,
            created_at=options.created_at or datetime.now().astimezone(),
            summary=options.summary,
        )
        return to_docx(transcript, info)
    return render(transcript, fmt, name=options.name, subtitles=options.subtitles).encode("utf-8")


def subtitle_options(settings: Settings) -> SubtitleOptions:
    """The operator's subtitle settings (SWESCRIBE_SUBTITLE_*), for the renderers, which never read settings."""
    return SubtitleOptions(max_line_chars=settings.subtitle_max_line_chars, max_lines=settings.subtitle_max_lines)


def file_name(stem: str, fmt: str) -> str:
    """The name a format is written or downloaded as: <stem><suffix> (txt-plain: <stem>.plain.txt)."""
    return stem + FORMAT_TABLE[fmt].suffix
