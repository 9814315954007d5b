"""Recall and precision of the redaction recognisers on a labelled text set
(audio_fixtures/redaction/*.txt), per entity type.

A set is lines of text with entities marked `[[TYPE words of the value]]`; lines starting with
"#" are comments. Words are split on whitespace, as the recognisers see a transcript's words.

- Recall of a type: the share of its labelled entities whose every word is covered by hits of
  that type. `redacted` (any type) is reported beside it: a personnummer read as a phone number
  is still hidden.
- Precision of a type: the share of its hits that overlap a labelled entity of that type.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workers.redaction.entities import EntityType, Hit
from workers.redaction.redact import find_hits, known_names

_MARK = re.compile(r"\[\[(?P<type>[A-ZÅÄÖ\-]+) (?P<value>.+?)\]\]")


@dataclass(frozen=True)
class LabelledSentence:
    source: str
    words: tuple[str, ...]
    # (type, first word, end word) per labelled entity.
    entities: tuple[tuple[EntityType, int, int], ...]


@dataclass(frozen=True)
class TypeScore:
    type: EntityType
    labelled: int
    found: int  # labelled entities fully covered by hits of their type
    redacted: int  # labelled entities fully covered by hits of any type
    hits: int
    correct_hits: int

    @property
    def recall(self) -> float | None:
        return self.found / self.labelled if self.labelled else None

    @property
    def redacted_share(self) -> float | None:
        return self.redacted / self.labelled if self.labelled else None

    @property
    def precision(self) -> float | None:
        return self.correct_hits / self.hits if self.hits else None


def parse_line(line: str, source: str = "") -> LabelledSentence:
    """One marked line -> words and labelled word ranges. ValueError for a bad mark."""
    words: list[str] = []
    entities: list[tuple[EntityType, int, int]] = []
    position = 0
    for mark in _MARK.finditer(line):
        words += line[position : mark.start()].split()
        value = mark["value"].split()
        # Punctuation right after the mark belongs to the value's last word, as a transcript has it.
        tail = re.match(r"[^\s\[]*", line[mark.end() :])
        glued = tail.group(0) if tail else ""
        if glued:
            value[-1] += glued
        entities.append((EntityType(mark["type"]), len(words), len(words) + len(value)))
        words += value
        position = mark.end() + len(glued)
    words += line[position:].split()
    if "[[" in line[position:] or "]]" in line[position:]:
        raise ValueError(f"{source}: unbalanced mark in {line!r}")
    return LabelledSentence(source, tuple(words), tuple(entities))


def load_set(paths: Iterable[Path]) -> list[LabelledSentence]:
    sentences = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip() and not line.startswith("#"):
                sentences.append(parse_line(line, f"{path.name}:{number}"))
    return sentences


def _predict(sentence: LabelledSentence) -> list[Hit]:
    """Each sentence is scored as a transcript of one segment (names found in it known to it)."""
    words = list(sentence.words)
    return find_hits(words, known_names([words]))


def score(sentences: Iterable[LabelledSentence]) -> dict[EntityType, TypeScore]:
    labelled, found, redacted, hits, correct = Counter(), Counter(), Counter(), Counter(), Counter()
    for sentence in sentences:
        predicted = _predict(sentence)
        covered_as: dict[int, EntityType] = {k: h.type for h in predicted for k in range(h.first, h.end)}
        for kind, first, end in sentence.entities:
            labelled[kind] += 1
            span = range(first, end)
            if all(covered_as.get(k) == kind for k in span):
                found[kind] += 1
            if all(k in covered_as for k in span):
                redacted[kind] += 1
        for hit in predicted:
            hits[hit.type] += 1
            if any(kind == hit.type and first < hit.end and hit.first < end for kind, first, end in sentence.entities):
                correct[hit.type] += 1
    return {
        kind: TypeScore(kind, labelled[kind], found[kind], redacted[kind], hits[kind], correct[kind])
        for kind in EntityType
        if labelled[kind] or hits[kind]
    }


def misses(sentences: Iterable[LabelledSentence]) -> list[str]:
    """Each missed entity and each wrong hit, one line each, for looking at what went wrong."""
    lines = []
    for sentence in sentences:
        predicted = _predict(sentence)
        covered_as = {k: h.type for h in predicted for k in range(h.first, h.end)}
        for kind, first, end in sentence.entities:
            if not all(covered_as.get(k) == kind for k in range(first, end)):
                lines.append(f"missed {kind.value}: {' '.join(sentence.words)} ({sentence.source})")
        for hit in predicted:
            if not any(kind == hit.type and first < hit.end and hit.first < end for kind, first, end in sentence.entities):
                lines.append(
                    f"wrong {hit.type.value}: {' '.join(sentence.words[hit.first : hit.end])!r} in {' '.join(sentence.words)} ({sentence.source})"
                )
    return lines


def markdown_table(scores: dict[EntityType, TypeScore]) -> str:
    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    rows = ["| type | labelled | recall | redacted (any type) | hits | precision |", "|---|---:|---:|---:|---:|---:|"]
    for s in scores.values():
        rows.append(
            f"| {s.type.value} | {s.labelled} | {fmt(s.recall)} | {fmt(s.redacted_share)} | {s.hits} | {fmt(s.precision)} |"
        )
    return "\n".join(rows)
