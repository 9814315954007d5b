"""Word counts and word error rate on normalised text."""

from __future__ import annotations

import re
from typing import Sequence

import jiwer

# \w is Unicode-aware, so å, ä, ö (and digits) survive; everything else that is not a
# letter, digit or space is punctuation for scoring purposes.
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lowercase, punctuation to spaces, single spaces."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def word_count(text: str) -> int:
    return len(normalise(text).split())


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float | None:
    """Corpus WER (total errors / total reference words); None when there is nothing to score."""
    pairs = [(normalise(r), normalise(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        return None
    refs, hyps = zip(*pairs)
    # Older jiwer rejects an empty hypothesis; one placeholder word scores the same number of
    # errors (one substitution plus deletions instead of deletions only).
    return jiwer.wer(list(refs), [h or "<empty>" for h in hyps])
