"""What a finished job leaves in the folder: the transcript in every format, or the reason it
failed. The summary, when the job has one, comes from the summary store (ingest/summaries.py)."""

from __future__ import annotations

from workers.transcript.formats import FORMATS, formats_for, render, transcript_from_json

OUTBOX_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS) + (".summary.md",)
ERROR_SUFFIX = ".error.txt"


def transcript_outputs(stored_json: str, name: str = "audio") -> dict[str, str]:
    """Suffix -> text for outbox/: the stored JSON as is, the other formats rendered from it
    (".rttm" only when diarized, with `name` as its file id)."""
    transcript = transcript_from_json(stored_json)
    outputs = {".json": stored_json}
    outputs.update({f".{fmt}": render(transcript, fmt, name=name) for fmt in formats_for(transcript) if fmt != "json"})
    return outputs


def error_text(file_name: str, reason: str, code: str | None = None, job_id: str | None = None) -> str:
    lines = [f"file: {file_name}"]
    if job_id:
        lines.append(f"job: {job_id}")
    if code:
        lines.append(f"error: {code}")
    lines.append(f"reason: {reason}")
    return "\n".join(lines) + "\n"
