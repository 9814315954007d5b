"""The DOCX export: a Word document with title, date, duration, speakers, the summary when there
is one, and the text with a time per paragraph."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import docx
import pytest

from tests.meeting_transcripts import CASE_CALL, meeting
from tests.transcripts import segment, transcript, words
from workers.documents.export import ExportOptions, export, file_name
from workers.summary.schema import ActionItem, Citation, Decision, Participant, Summary, Usage
from workers.transcript.types import Speaker

WHEN = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def read(data: bytes) -> tuple[list[str], list[list[str]]]:
    document = docx.Document(io.BytesIO(data))
    return [p.text for p in document.paragraphs], [[c.text for c in row.cells] for t in document.tables for row in t.rows]


def diarized_call():
    speakers = (Speaker("Talare 1", 30.0), Speaker("Talare 2", 24.0))
    return replace(meeting(CASE_CALL), diarization_model="test", speakers=speakers)


def summary() -> Summary:
    cite = [Citation(segment_id=2, start_s=12.0, end_s=17.5)]
    return Summary(
        abstract="Handläggaren beviljar bostadsbidrag.",
        matter="Bostadsbidrag",
        participants=[Participant(speaker="Talare 1", role="handläggare"), Participant(speaker="Talare 2")],
        decisions=[Decision(text="Bostadsbidrag beviljas från mars.", citations=cite)],
        action_items=[ActionItem(text="Skicka hyresavtalet.", owner="Talare 2", deadline="15 april", citations=cite)],
        open_questions=["Påverkas bidraget om dottern flyttar?"],
        model="test-llm",
        chunks=1,
        dropped_ungrounded=0,
        usage=Usage(),
    )


def test_the_document_holds_title_facts_summary_and_timed_paragraphs():
    data = export(diarized_call(), "docx", ExportOptions(name="samtal", title="samtal.m4a", created_at=WHEN, summary=summary()))
    assert data.startswith(b"PK")
    paragraphs, cells = read(data)
    assert paragraphs[0] == "samtal.m4a"
    assert ["Datum", "2026-12-02 09:30"] in cells and ["Längd", "00:54"] in cells
    assert ["Talare", "Talare 1 (00:30), Talare 2 (00:24)"] in cells
    text = "\n".join(paragraphs)
    assert text.index("Sammanfattning") < text.index("Transkription")
    assert "Bostadsbidrag beviljas från mars. (segment 2 (00:12))" in text
    assert "Skicka hyresavtalet. — ansvarig: Talare 2; senast: 15 april (segment 2 (00:12))" in text
    assert "[00:00] Talare 1: Hej, det här är Anna Berg på Försäkringskassan." in text
    assert "[00:06] Talare 2: Hej Anna, ja, jag skickade in den för två veckor sedan." in text


def test_without_a_summary_or_speakers_the_document_says_so():
    t = transcript(segment(0, words((0.5, 1.0, "Hej"), (1.0, 1.5, "då."))), duration_s=3700.0)
    paragraphs, cells = read(export(t, "docx", ExportOptions(name="möte", created_at=WHEN)))
    assert "Sammanfattning" not in paragraphs
    assert ["Talare", "ej uppdelat på talare"] in cells and ["Längd", "1:01:40"] in cells
    assert "[0:00:00] Hej då." in paragraphs


def test_text_that_xml_cannot_hold_is_left_out_rather_than_failing():
    t = transcript(segment(0, words((0.0, 1.0, "Hej\x00\x07"), (1.0, 2.0, "där."))))
    paragraphs, _ = read(export(t, "docx", ExportOptions(name="x\x01", created_at=WHEN)))
    assert "[00:00] Hej där." in paragraphs and paragraphs[0] == "x"


def test_text_formats_export_as_utf8_and_file_names_follow_the_table():
    t = transcript(segment(0, words((0.0, 1.0, "Åsa."))))
    assert export(t, "txt") == "[00:00] Åsa.\n".encode()
    assert file_name("möte", "txt-plain") == "möte.plain.txt" and file_name("möte", "docx") == "möte.docx"
    with pytest.raises(ValueError, match="unknown format"):
        export(t, "pdf")
