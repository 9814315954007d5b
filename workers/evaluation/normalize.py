"""Swedish text normalization for WER scoring.

Both reference and hypothesis go through the same function, so that only differences in
what was said count: case, punctuation and how a number is written do not.
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

_NUMBER = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^\w\s]")


def normalize_swedish(text: str) -> str:
    """NFKC, lowercase, digits spelled out in Swedish, punctuation removed; å/ä/ö kept."""
    text = unicodedata.normalize("NFKC", text).lower()
    # "12" and "tolv" must score the same; num2words spells Swedish compounds as one word.
    text = _NUMBER.sub(lambda m: f" {num2words(int(m.group()), lang='sv')} ", text)
    text = _NOT_WORD.sub(" ", text.replace("_", " "))
    return " ".join(text.split())
