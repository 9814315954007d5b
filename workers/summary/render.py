"""The summary as Markdown for people (Swedish headings), with its citations as times."""

from __future__ import annotations

import re

from workers.summary.chunking import clock
from workers.summary.schema import Citation, Summary

# Text comes from a model that read a transcript: it must not open headings, lists, links or
# HTML in the rendered document, only ever be text.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


def escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def stamp(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour on: how a player shows the position."""
    full = clock(seconds)
    return full[3:] if full.startswith("00:") else full.lstrip("0") or "0"


def _cites(citations: list[Citation], link: str | None) -> str:
    """`[01:05] segment 12` per citation; with `link` (the transcript document) the time links
    to `link#segment-12`."""
    parts = []
    for c in citations:
        when = f"[{stamp(c.start_s)}]"
        parts.append(
            f"[{when}]({link}#segment-{c.segment_id}) segment {c.segment_id}" if link else f"{when} segment {c.segment_id}"
        )
    return ", ".join(parts)


def to_markdown(summary: Summary, title: str | None = None, transcript_link: str | None = None) -> str:
    """`transcript_link`: a relative link to the transcript, for citations that link to it."""
    lines = [f"# Sammanfattning{': ' + escape(title) if title else ''}", ""]
    if summary.notice:
        lines += [f"> **{escape(summary.notice)}**", ""]
    lines += [escape(summary.abstract), ""]
    lines += ["## Ärende", "", escape(summary.matter), ""]
    lines += ["## Deltagare", ""]
    lines += [f"- {escape(p.speaker)}{': ' + escape(p.role) if p.role else ''}" for p in summary.participants] or [
        "- (inga talaretiketter)"
    ]
    lines += ["", "## Beslut", ""]
    lines += [f"- {escape(d.text)} ({_cites(d.citations, transcript_link)})" for d in summary.decisions] or ["- Inga beslut."]
    lines += ["", "## Åtgärder", ""]
    for item in summary.action_items:
        details = [
            f"ansvarig: {escape(item.owner)}" if item.owner else "",
            f"senast: {escape(item.deadline)}" if item.deadline else "",
        ]
        extra = "; ".join(d for d in details if d)
        lines.append(f"- {escape(item.text)}{' — ' + extra if extra else ''} ({_cites(item.citations, transcript_link)})")
    if not summary.action_items:
        lines.append("- Inga åtgärder.")
    lines += ["", "## Öppna frågor", ""]
    lines += [f"- {escape(q)}" for q in summary.open_questions] or ["- Inga öppna frågor."]
    lines += ["", f"_Sammanfattat av {escape(summary.model)} ur transkriptionen; segment-id och tider pekar på dess rader._", ""]
    return "\n".join(lines)
