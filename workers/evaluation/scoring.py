"""Word and character error rates over normalized Swedish text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer

from workers.evaluation.normalize import normalize_swedish


@dataclass(frozen=True)
class ErrorRates:
    wer: float
    cer: float
    reference_words: int


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Corpus-level WER and CER (errors summed over all pairs, not averaged per clip)."""
    refs = [normalize_swedish(r) for r in references]
    hyps = [normalize_swedish(h) for h in hypotheses]
    if not any(refs):
        raise ValueError("no reference words to score against")
    return ErrorRates(
        wer=round(jiwer.wer(refs, hyps), 4),
        cer=round(jiwer.cer(refs, hyps), 4),
        reference_words=sum(len(r.split()) for r in refs),
    )
