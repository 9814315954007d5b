"""What a finished job leaves in the folder: the transcript in every format (and the summary
when the job has one), or the reason it failed."""

from __future__ import annotations

import json

from workers.transcript.formats import FORMATS, formats_for, render, transcript_from_json

OUTBOX_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS) + (".summary.md",)
ERROR_SUFFIX = ".error.txt"


def transcript_outputs(stored_json: str, name: str = "audio") -> dict[str, str]:
    """Suffix -> text for outbox/: the stored JSON as is, the other formats rendered from it
    (".rttm" only when diarized, with `name` as its file id), and ".summary.md" only when the
    transcript carries a summary."""
    transcript = transcript_from_json(stored_json)
    outputs = {".json": stored_json}
    outputs.update({f".{fmt}": render(transcript, fmt, name=name) for fmt in formats_for(transcript) if fmt != "json"})
    summary = summary_markdown(json.loads(stored_json).get("summary"))
    if summary:
        outputs[".summary.md"] = summary
    return outputs


def summary_markdown(summary) -> str | None:
    """The summary as Markdown: a string as is, an object by its text (or as JSON)."""
    if not summary:
        return None
    if isinstance(summary, str):
        text = summary
    elif isinstance(summary, dict) and isinstance(summary.get("text"), str):
        text = summary["text"]
    else:
        text = "```json\n" + json.dumps(summary, ensure_ascii=False, indent=2) + "\n```"
    return text.rstrip("\n") + "\n"


def error_text(file_name: str, reason: str, code: str | None = None, job_id: str | None = None) -> str:
    lines = [f"file: {file_name}"]
    if job_id:
        lines.append(f"job: {job_id}")
    if code:
        lines.append(f"error: {code}")
    lines.append(f"reason: {reason}")
    return "\n".join(lines) + "\n"
