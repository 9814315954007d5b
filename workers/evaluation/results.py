"""Scores of an evaluation run, grouped: overall, per group, per dialect area, per condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import jiwer

from .manifests import EvalEntry
from .normalize import normalize_swedish
from .scoring import error_rates

WORST_SHOWN = 10


@dataclass(frozen=True)
class EntryResult:
    entry: EvalEntry
    hypothesis: str
    seconds: float

    @property
    def word_count(self) -> int:
        return len(normalize_swedish(self.hypothesis).split())


def group_scores(results: list[EntryResult], key: Callable[[EvalEntry], str]) -> dict[str, dict]:
    groups: dict[str, list[EntryResult]] = {}
    for result in results:
        groups.setdefault(key(result.entry), []).append(result)
    return {name: scores(members) for name, members in sorted(groups.items())}


def scores(results: Iterable[EntryResult]) -> dict:
    """WER/CER over the speech entries; words produced on the non-speech ones (should be 0)."""
    results = list(results)
    speech = [r for r in results if r.entry.expect_words]
    silent = [r for r in results if not r.entry.expect_words]
    summary: dict = {"recordings": len(results), "speech_recordings": len(speech)}
    if speech:
        rates = error_rates([r.entry.text for r in speech], [r.hypothesis for r in speech])
        summary.update(wer=rates.wer, cer=rates.cer, reference_words=rates.reference_words)
    if silent:
        summary["non_speech_recordings"] = len(silent)
        summary["words_on_non_speech"] = sum(r.word_count for r in silent)
    return summary


def worst(results: list[EntryResult], count: int = WORST_SHOWN) -> list[dict]:
    """The entries with the highest WER, with a word alignment to read the errors from."""
    rated = []
    for r in results:
        if not r.entry.expect_words:
            continue
        ref, hyp = normalize_swedish(r.entry.text), normalize_swedish(r.hypothesis)
        alignment = jiwer.process_words(ref, hyp or "<tom>")
        rated.append({
            "id": r.entry.id, "group": r.entry.group, "dialect_area": r.entry.dialect_area,
            "condition": r.entry.condition, "wer": round(alignment.wer, 4),
            "reference": r.entry.text, "hypothesis": r.hypothesis,
            "alignment": jiwer.visualize_alignment(alignment, show_measures=False).split("\n", 2)[-1].strip("\n"),
        })
    return sorted(rated, key=lambda x: (-x["wer"], x["id"]))[:count]


def summarize(results: list[EntryResult], model: dict, options: dict) -> dict:
    return {
        "model": model,
        "options": options,
        "overall": scores(results),
        "by_group": group_scores(results, lambda e: e.group),
        "by_dialect_area": group_scores(results, lambda e: e.dialect_area),
        "by_condition": group_scores(results, lambda e: e.condition),
        "worst": worst(results),
        "recordings": [
            {"id": r.entry.id, "group": r.entry.group, "dialect_area": r.entry.dialect_area, "condition": r.entry.condition,
             "synthetic": r.entry.synthetic, "reference": r.entry.text, "hypothesis": r.hypothesis, "seconds": round(r.seconds, 3)}
            for r in results
        ],
    }
