"""Scores of an evaluation run, per group: each group's overall, its dialect areas and its
recording conditions, kept apart so real and synthetic speech are never merged in one figure.

A figure pooled over all groups is kept (`all_groups`, the number `swescribe eval` prints last
for scripts), labelled as a mix of every group and never broken down by area or condition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jiwer

from workers.evaluation.manifests import UNKNOWN, EvalEntry
from workers.evaluation.normalize import normalize_swedish
from workers.evaluation.scoring import error_rates

WORST_SHOWN = 10
POOLED_NOTE = (
    "every group pooled, real and synthetic speech together: one number for scripts; read the per-group figures for accuracy"
)


@dataclass(frozen=True)
class EntryResult:
    entry: EvalEntry
    hypothesis: str
    seconds: float

    @property
    def word_count(self) -> int:
        return len(normalize_swedish(self.hypothesis).split())


def split_by(results: Iterable[EntryResult], key: Callable[[EvalEntry], str]) -> dict[str, list[EntryResult]]:
    parts: dict[str, list[EntryResult]] = {}
    for result in results:
        parts.setdefault(key(result.entry), []).append(result)
    return dict(sorted(parts.items()))


def group_scores(results: list[EntryResult], key: Callable[[EvalEntry], str]) -> dict[str, dict]:
    return {name: scores(members) for name, members in split_by(results, key).items()}


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


def speech_kind(results: list[EntryResult]) -> str:
    """ "synthetic", "real" or (only for results not loaded through load_manifests) "mixed"."""
    kinds = {r.entry.synthetic for r in results}
    return "mixed" if len(kinds) > 1 else ("synthetic" if kinds == {True} else "real")


def group_summary(results: list[EntryResult]) -> dict:
    """One group: its overall scores, then its areas and conditions (each within this group only)."""
    manifests = sorted({str(r.entry.manifest) for r in results if r.entry.manifest is not None})
    return {
        "speech": speech_kind(results),
        "manifests": manifests,
        "overall": scores(results),
        "by_dialect_area": group_scores(results, lambda e: e.dialect_area),
        "by_condition": group_scores(results, lambda e: e.condition),
        "worst": worst(results),
    }


def is_labelled(breakdown: dict[str, dict]) -> bool:
    """False when the manifest gave no labels (everything "unknown"): nothing to break down."""
    return set(breakdown) != {UNKNOWN}


def worst(results: list[EntryResult], count: int = WORST_SHOWN) -> list[dict]:
    """The entries with the highest WER, with a word alignment to read the errors from."""
    rated = []
    for r in results:
        if not r.entry.expect_words:
            continue
        ref, hyp = normalize_swedish(r.entry.text), normalize_swedish(r.hypothesis)
        alignment = jiwer.process_words(ref, hyp or "<tom>")
        rated.append(
            {
                "id": r.entry.id,
                "group": r.entry.group,
                "dialect_area": r.entry.dialect_area,
                "condition": r.entry.condition,
                "wer": round(alignment.wer, 4),
                "reference": r.entry.text,
                "hypothesis": r.hypothesis,
                "alignment": jiwer.visualize_alignment(alignment, show_measures=False).split("\n", 2)[-1].strip("\n"),
            }
        )
    return sorted(rated, key=lambda x: (-x["wer"], x["id"]))[:count]


def summarize(results: list[EntryResult], model: dict, options: dict) -> dict:
    groups = split_by(results, lambda e: e.group)
    return {
        "model": model,
        "options": options,
        "all_groups": {**scores(results), "groups": list(groups), "note": POOLED_NOTE},
        "by_group": {name: group_summary(members) for name, members in groups.items()},
        "recordings": [
            {
                "id": r.entry.id,
                "group": r.entry.group,
                "dialect_area": r.entry.dialect_area,
                "condition": r.entry.condition,
                "synthetic": r.entry.synthetic,
                "reference": r.entry.text,
                "hypothesis": r.hypothesis,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
    }
