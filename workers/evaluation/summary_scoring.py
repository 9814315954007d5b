"""Scores a summary against the reference facts of the summary evaluation set
(audio_fixtures/summaries: hand-written synthetic conversations). Pure functions, no model.

Reference facts are key expressions (audio_fixtures/summaries/conversations.txt): terms joined
by " + " must all appear, "/" separates alternatives, a leading "-" marks a term that must not
appear. A term matches the start of a word after lower-casing and joining digit groups
("8 400" -> "8400"); a term ending in a digit matches whole numbers only ("14" not in "140").

Per summary: facts found per field (matter, participant roles, decisions, action items and
their owners and deadlines), traps fallen into (a hypothetical, a retracted statement or the
wrong one of two numbers presented as fact), unsupported items (checks.is_supported against
the cited segments), template echoes (checks.EchoCheck), citations to segments that do not
exist, numbers the transcript never says, and whether it is Swedish.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache

from workers.summary.checks import EchoCheck, is_supported, words
from workers.transcript.types import Transcript

_DIGIT_GROUP = re.compile(r"(?<=\d)[ \u00a0](?=\d{3}(?!\d))")
_NUMBER = re.compile(r"\d+")
SWEDISH_WORDS = frozenset(
    [
        "och",
        "att",
        "en",
        "ett",
        "om",
        "för",
        "av",
        "är",
        "det",
        "som",
        "med",
        "på",
        "till",
        "har",
        "inte",
        "ska",
        "kan",
        "den",
        "har",
        "vid",
        "när",
        "efter",
        "samt",
    ]
)
ENGLISH_WORDS = frozenset(
    ["the", "and", "of", "to", "is", "in", "for", "with", "about", "will", "be", "has", "not", "that", "this", "was", "are"]
)
# Trap kinds scored against every text field; the others only against decisions and action items
# (an abstract may rightly say that something was proposed and withdrawn).
TRAPS_IN_ALL_TEXT = frozenset({"number"})


def normalize(text: str) -> str:
    return _DIGIT_GROUP.sub("", " ".join(text.lower().split()))


@dataclass(frozen=True)
class Term:
    alternatives: tuple[str, ...]
    negated: bool


@cache
def parse_keys(keys: str) -> tuple[Term, ...]:
    terms = []
    for group in keys.split(" + "):
        alternatives = tuple(normalize(a) for a in group.split("/") if a.strip())
        negated = all(a.startswith("-") for a in alternatives)
        terms.append(Term(tuple(a.lstrip("-") for a in alternatives), negated))
    return tuple(terms)


@cache
def _pattern(term: str) -> re.Pattern[str]:
    tail = r"(?!\d)" if term[-1:].isdigit() else ""
    return re.compile(r"(?<![a-zåäöéü0-9])" + re.escape(term) + tail)


def _has(term: Term, text: str) -> bool:
    return any(_pattern(a).search(text) for a in term.alternatives)


def matches(keys: str, text: str | None) -> bool:
    """Whether `text` satisfies the key expression."""
    if not text:
        return False
    normalized = normalize(text)
    return all(_has(term, normalized) != term.negated for term in parse_keys(keys))


def is_swedish(text: str) -> bool:
    tokens = words(text)
    swedish = sum(t in SWEDISH_WORDS for t in tokens)
    english = sum(t in ENGLISH_WORDS for t in tokens)
    return swedish >= 3 and swedish > 2 * english


@dataclass(frozen=True)
class SummaryScore:
    """Counts for one summary; hits out of totals per field."""

    matter_hit: int
    roles_hit: int
    roles_total: int
    decisions_hit: int
    decisions_total: int
    actions_hit: int
    actions_total: int
    owners_hit: int
    owners_total: int
    deadlines_hit: int
    deadlines_total: int
    traps_hit: int
    traps_total: int
    traps_fallen: tuple[str, ...]
    unsupported_items: int
    items: int
    template_echoes: int
    echoed_values: tuple[str, ...]
    citations: int
    missing_citations: int
    invented_numbers: int
    swedish: bool
    dropped_ungrounded: int
    asked_again: int

    def as_dict(self) -> dict:
        return asdict(self)


def _items(summary: dict) -> list[dict]:
    return [*summary.get("decisions", []), *summary.get("action_items", [])]


def _all_text(summary: dict) -> str:
    parts = [summary.get("abstract", ""), summary.get("matter", "")]
    parts += [item.get("text", "") for item in _items(summary)]
    parts += [item.get("deadline") or "" for item in summary.get("action_items", [])]
    return " ".join(parts)


def _echoed(summary: dict, echo: EchoCheck) -> list[str]:
    values = [summary.get("abstract"), summary.get("matter")]
    values += [p.get("role") for p in summary.get("participants", [])]
    for item in _items(summary):
        values += [item.get("text"), item.get("deadline")]
    values += [item.get("owner") for item in summary.get("action_items", [])]
    values += list(summary.get("open_questions", []))
    return [v for v in values if v is not None and echo.is_echo(v)]


def score_summary(reference: dict, summary: dict, transcript: Transcript, echo: EchoCheck) -> SummaryScore:
    """`reference`: a manifest entry's "reference"; `summary`: a stored summary (Summary as JSON)."""
    decisions = summary.get("decisions", [])
    actions = summary.get("action_items", [])
    roles = {p.get("speaker"): p.get("role") for p in summary.get("participants", [])}

    roles_hit = sum(matches(keys, roles.get(speaker)) for speaker, keys in reference["roles"].items())
    decisions_hit = sum(any(matches(keys, d.get("text")) for d in decisions) for keys in reference["decisions"])
    actions_hit = owners_hit = owners_total = deadlines_hit = deadlines_total = 0
    for ref in reference["action_items"]:
        found = [a for a in actions if matches(ref["text"], a.get("text"))]
        actions_hit += bool(found)
        if ref.get("owner"):
            owners_total += 1
            owners_hit += any(matches(ref["owner"], a.get("owner")) for a in found)
        if ref.get("deadline"):
            deadlines_total += 1
            deadlines_hit += any(matches(ref["deadline"], f"{a.get('deadline') or ''} {a.get('text')}") for a in found)

    item_texts = " | ".join(item.get("text", "") for item in _items(summary))
    everything = _all_text(summary)
    fallen = tuple(
        f"{trap['kind']}: {trap['keys']}"
        for trap in reference["traps"]
        if any(matches(trap["keys"], part) for part in _trap_scope(trap["kind"], summary, everything, item_texts))
    )

    segments = {s.id: s for s in transcript.segments}
    citations = [c for item in _items(summary) for c in item.get("citations", [])]
    missing = sum(c.get("segment_id") not in segments for c in citations)
    unsupported = 0
    for item in _items(summary):
        cited = [segments[c["segment_id"]].text for c in item.get("citations", []) if c.get("segment_id") in segments]
        unsupported += not cited or not is_supported(item.get("text", ""), cited)

    spoken = set(_NUMBER.findall(normalize(" ".join(s.text for s in transcript.segments))))
    invented = len(set(_NUMBER.findall(normalize(everything))) - spoken)
    echoed = _echoed(summary, echo)
    return SummaryScore(
        matter_hit=int(matches(reference["matter"], summary.get("matter"))),
        roles_hit=roles_hit,
        roles_total=len(reference["roles"]),
        decisions_hit=decisions_hit,
        decisions_total=len(reference["decisions"]),
        actions_hit=actions_hit,
        actions_total=len(reference["action_items"]),
        owners_hit=owners_hit,
        owners_total=owners_total,
        deadlines_hit=deadlines_hit,
        deadlines_total=deadlines_total,
        traps_hit=len(fallen),
        traps_total=len(reference["traps"]),
        traps_fallen=fallen,
        unsupported_items=unsupported,
        items=len(_items(summary)),
        template_echoes=len(echoed),
        echoed_values=tuple(echoed),
        citations=len(citations),
        missing_citations=missing,
        invented_numbers=invented,
        swedish=is_swedish(everything),
        dropped_ungrounded=int(summary.get("dropped_ungrounded", 0)),
        asked_again=int(summary.get("asked_again", 0)),
    )


def _trap_scope(kind: str, summary: dict, everything: str, item_texts: str) -> list[str]:
    if kind in TRAPS_IN_ALL_TEXT:
        return [everything]
    return [item.get("text", "") for item in _items(summary)] if item_texts else []


def failed_score(reference: dict) -> SummaryScore:
    """A summary that could not be made: nothing found, every total counted."""
    owners = sum(bool(a.get("owner")) for a in reference["action_items"])
    deadlines = sum(bool(a.get("deadline")) for a in reference["action_items"])
    return SummaryScore(
        0, 0, len(reference["roles"]), 0, len(reference["decisions"]), 0, len(reference["action_items"]),
        0, owners, 0, deadlines, 0, len(reference["traps"]), (), 0, 0, 0, (), 0, 0, 0, False, 0, 0,
    )  # fmt: skip


def _ratio(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def aggregate(scores: list[SummaryScore], failures: int = 0) -> dict:
    """Set-level figures: recall per field (facts found / facts in the references), and totals."""
    n = len(scores)

    def total(name: str) -> int:
        return sum(getattr(s, name) for s in scores)

    recall = {
        "matter": _ratio(total("matter_hit"), n),
        "roles": _ratio(total("roles_hit"), total("roles_total")),
        "decisions": _ratio(total("decisions_hit"), total("decisions_total")),
        "action_items": _ratio(total("actions_hit"), total("actions_total")),
        "owners": _ratio(total("owners_hit"), total("owners_total")),
        "deadlines": _ratio(total("deadlines_hit"), total("deadlines_total")),
    }
    facts_hit = sum(total(f) for f in ("matter_hit", "roles_hit", "decisions_hit", "actions_hit", "owners_hit", "deadlines_hit"))
    facts_total = n + sum(
        total(f) for f in ("roles_total", "decisions_total", "actions_total", "owners_total", "deadlines_total")
    )
    return {
        "summaries": n,
        "failed": failures,
        "fact_recall": _ratio(facts_hit, facts_total),
        "recall": recall,
        "traps_fallen": total("traps_hit"),
        "traps": total("traps_total"),
        "unsupported_items": total("unsupported_items"),
        "items": total("items"),
        "template_echoes": total("template_echoes"),
        "citations": total("citations"),
        "missing_citations": total("missing_citations"),
        "invented_numbers": total("invented_numbers"),
        "swedish": _ratio(sum(s.swedish for s in scores), n),
        "dropped_ungrounded": total("dropped_ungrounded"),
        "asked_again": total("asked_again"),
    }
