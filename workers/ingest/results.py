"""What a finished job leaves in the folder: the transcript in every format, or the reason it
failed. The summary, when the job has one, comes from the summary store (ingest/summaries.py)
and goes into the DOCX as well as its own .summary.md."""

from __future__ import annotations

from datetime import datetime

from workers.documents.export import ExportOptions, export
from workers.summary.schema import Summary
from workers.transcript.formats import FORMAT_TABLE, SubtitleOptions, formats_for, transcript_from_json

# The copy of the recording with a tone over each redacted span (folder option redact_audio).
REDACTED_AUDIO_SUFFIX = ".redacted.flac"
OUTBOX_SUFFIXES = tuple(f.suffix for f in FORMAT_TABLE.values()) + (".summary.md", REDACTED_AUDIO_SUFFIX)
ERROR_SUFFIX = ".error.txt"


def transcript_outputs(
    stored_json: str,
    name: str = "audio",
    summary: Summary | None = None,
    created_at: datetime | None = None,
    subtitles: SubtitleOptions = SubtitleOptions(),
) -> dict[str, bytes]:
    """Suffix -> file content for outbox/: the stored JSON as is, the other formats rendered from
    it (".rttm" only when diarized, with `name` as its file id; `name` is also the DOCX's title)."""
    transcript = transcript_from_json(stored_json)
    options = ExportOptions(name=name, created_at=created_at, summary=summary, subtitles=subtitles)
    outputs = {".json": stored_json.encode("utf-8")}
    outputs.update({FORMAT_TABLE[f].suffix: export(transcript, f, options) for f in formats_for(transcript) if f != "json"})
    return outputs


def error_text(file_name: str, reason: str, code: str | None = None, job_id: str | None = None) -> str:
    lines = [f"file: {file_name}"]
    if job_id:
        lines.append(f"job: {job_id}")
    if code:
        lines.append(f"error: {code}")
    lines.append(f"reason: {reason}")
    return "\n".join(lines) + "\n"
