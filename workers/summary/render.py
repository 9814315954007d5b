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


def _cites(citations: list[Citation]) -> str:
    return ", ".join(f"{c.segment_id} ({clock(c.start_s)})" for c in citations)


def to_markdown(summary: Summary, title: str | None = None) -> str:
    lines = [f"# Sammanfattning{': ' + escape(title) if title else ''}", "", escape(summary.abstract), ""]
    lines += ["## Ärende", "", escape(summary.matter), ""]
    lines += ["## Deltagare", ""]
    lines += [f"- {escape(p.speaker)}{': ' + escape(p.role) if p.role else ''}" for p in summary.participants] or [
        "- (inga talaretiketter)"
    ]
    lines += ["", "## Beslut", ""]
    lines += [f"- {escape(d.text)} (segment {_cites(d.citations)})" for d in summary.decisions] or ["- Inga beslut."]
    lines += ["", "## Åtgärder", ""]
    for item in summary.action_items:
        details = [
            f"ansvarig: {escape(item.owner)}" if item.owner else "",
            f"senast: {escape(item.deadline)}" if item.deadline else "",
        ]
        extra = "; ".join(d for d in details if d)
        lines.append(f"- {escape(item.text)}{' — ' + extra if extra else ''} (segment {_cites(item.citations)})")
    if not summary.action_items:
        lines.append("- Inga åtgärder.")
    lines += ["", "## Öppna frågor", ""]
    lines += [f"- {escape(q)}" for q in summary.open_questions] or ["- Inga öppna frågor."]
    lines += ["", f"_Sammanfattat av {escape(summary.model)} ur transkriptionen; segment-id och tider pekar på dess rader._", ""]
    return "\n".join(lines)
