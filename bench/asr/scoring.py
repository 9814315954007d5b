"""Word counts and WER for the benchmark, through the project's own Swedish normalizer."""

from __future__ import annotations

from collections.abc import Sequence

from workers.evaluation.normalize import normalize_swedish
from workers.evaluation.scoring import error_rates


def word_count(text: str) -> int:
    return len(normalize_swedish(text).split())


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float | None:
    """Corpus WER over the pairs that have a reference; None when there is nothing to score."""
    pairs = [(r, h) for r, h in zip(references, hypotheses, strict=True) if normalize_swedish(r)]
    if not pairs:
        return None
    return error_rates([r for r, _ in pairs], [h for _, h in pairs]).wer
