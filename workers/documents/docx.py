"""A transcript (and its summary, when there is one) as a Word document: title, date, duration,
speakers, the summary, then the text in paragraphs that each start with their time and speaker.

python-docx is imported inside `to_docx`: the API process imports this module but loads the
library only when a document is asked for.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from workers.summary.schema import Citation, Summary
from workers.transcript.reading import clock, needs_hours, paragraphs
from workers.transcript.types import Transcript

if TYPE_CHECKING:
    from docx.document import Document

# XML 1.0 allows no control characters but tab, newline and carriage return; a transcript or a
# model's summary could hold one, and python-docx refuses it with a ValueError.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class DocumentInfo:
    """What the document says about the recording besides its transcript."""

    title: str
    # When the recording was received (REST, ingest) or transcribed (CLI).
    created_at: datetime
    summary: Summary | None = None


def to_docx(transcript: Transcript, info: DocumentInfo) -> bytes:
    from docx import Document as new_document

    document = new_document()
    hours = needs_hours(transcript)
    core = document.core_properties
    core.title = _xml(info.title)
    core.created = info.created_at
    core.language = transcript.language

    document.add_heading(_xml(info.title), level=0)
    _facts(document, transcript, info, hours)
    if info.summary is not None:
        _summary(document, info.summary, hours)
    document.add_heading("Transkription", level=1)
    found = paragraphs(transcript)
    for paragraph in found:
        line = document.add_paragraph()
        line.add_run(f"[{clock(paragraph.start_s, hours)}] ").bold = True
        if paragraph.speaker:
            line.add_run(f"{_xml(paragraph.speaker)}: ").bold = True
        line.add_run(_xml(paragraph.text))
    if not found:
        document.add_paragraph("(inget tal hittades)")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _facts(document: Document, transcript: Transcript, info: DocumentInfo, hours: bool) -> None:
    speakers = ", ".join(f"{_xml(s.id)} ({clock(s.talk_time_s, hours)})" for s in transcript.speakers)
    if transcript.diarization_model is None:
        speakers = "ej uppdelat på talare"
    facts = (
        ("Datum", info.created_at.strftime("%Y-%m-%d %H:%M")),
        ("Längd", clock(transcript.duration_s, hours)),
        ("Talare", speakers or "inga"),
        ("Språk", transcript.language),
        ("Modell", _xml(transcript.model.id)),
    )
    table = document.add_table(rows=0, cols=2)
    for name, value in facts:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(name).bold = True
        cells[1].text = value


def _cites(citations: list[Citation], hours: bool) -> str:
    return ", ".join(f"segment {c.segment_id} ({clock(c.start_s, hours)})" for c in citations)


def _summary(document: Document, summary: Summary, hours: bool) -> None:
    document.add_heading("Sammanfattning", level=1)
    document.add_paragraph(_xml(summary.abstract))
    document.add_heading("Ärende", level=2)
    document.add_paragraph(_xml(summary.matter))
    document.add_heading("Deltagare", level=2)
    _bullets(document, [f"{p.speaker}: {p.role}" if p.role else p.speaker for p in summary.participants], "(inga talaretiketter)")
    document.add_heading("Beslut", level=2)
    _bullets(document, [f"{d.text} ({_cites(d.citations, hours)})" for d in summary.decisions], "Inga beslut.")
    document.add_heading("Åtgärder", level=2)
    items = []
    for item in summary.action_items:
        details = "; ".join(
            d for d in (f"ansvarig: {item.owner}" if item.owner else "", f"senast: {item.deadline}" if item.deadline else "") if d
        )
        items.append(f"{item.text}{' — ' + details if details else ''} ({_cites(item.citations, hours)})")
    _bullets(document, items, "Inga åtgärder.")
    document.add_heading("Öppna frågor", level=2)
    _bullets(document, list(summary.open_questions), "Inga öppna frågor.")
    note = document.add_paragraph()
    note.add_run(
        f"Sammanfattat av {_xml(summary.model)} ur transkriptionen; segment-id och tider pekar på dess rader."
    ).italic = True


def _bullets(document: Document, texts: list[str], empty: str) -> None:
    for text in texts or [empty]:
        document.add_paragraph(_xml(" ".join(text.split())), style="List Bullet")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)
