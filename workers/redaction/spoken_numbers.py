"""Swedish number words to digit strings, for identifiers read out aloud.

Hand-written because no library does this direction for Swedish: num2words only writes
numbers out, and the WER normaliser (workers/evaluation/normalize.py) turns whole numbers into
one value, where an identifier needs its digits in order as spoken, leading zeros kept
("noll sju noll" is "070", "nitton åttiofem" is "1985", "fyra tre två ett" is "4321").

Each word is read on its own: a compound ("åttiofem", "nittonhundraåttiofem", "tjugotre")
becomes the digits of its value; a word holding digits ("850312-4321", "+46") gives those
digits. Runs of words are joined by the recognisers.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITS = {
    "noll": 0,
    "en": 1,
    "ett": 1,
    "ena": 1,
    "två": 2,
    "tre": 3,
    "fyra": 4,
    "fem": 5,
    "sex": 6,
    "sju": 7,
    "åtta": 8,
    "nio": 9,
    "nie": 9,
}
TEENS = {
    "tio": 10,
    "elva": 11,
    "tolv": 12,
    "tretton": 13,
    "fjorton": 14,
    "femton": 15,
    "sexton": 16,
    "sjutton": 17,
    "arton": 18,
    "aderton": 18,
    "nitton": 19,
}
TENS = {
    "tjugo": 20,
    "tjuge": 20,
    "trettio": 30,
    "treti": 30,
    "fyrtio": 40,
    "förti": 40,
    "femtio": 50,
    "femti": 50,
    "sextio": 60,
    "sexti": 60,
    "sjuttio": 70,
    "sjutti": 70,
    "åttio": 80,
    "åtti": 80,
    "nittio": 90,
    "nitti": 90,
}
_DIGITS_ONLY = re.compile(r"^\+?[\d\-–\s]*\d[\d\-–\s]*$")
_STRIP = ".,;:!?\"'()[]«»”“…"


def normalise(word: str) -> str:
    """Lowercase, outer punctuation removed."""
    return word.strip().strip(_STRIP).lower()


@lru_cache(maxsize=4096)
def word_digits(word: str) -> str | None:
    """The digits a word stands for, as spoken or written; None for a word that is no number.

    >>> word_digits("åttiofem"), word_digits("noll"), word_digits("nittonhundraåttiofem")
    ('85', '0', '1985')
    >>> word_digits("850312-4321"), word_digits("+46"), word_digits("hej")
    ('8503124321', '+46', None)
    """
    text = normalise(word)
    if not text:
        return None
    if _DIGITS_ONLY.match(text):
        digits = re.sub(r"\D", "", text)
        return ("+" + digits) if text.startswith("+") else digits
    value = _compound_value(text.replace("-", ""))
    return None if value is None else str(value)


def _compound_value(text: str) -> int | None:
    """0-9999 written as one word: [below-100]hundra[below-100], [below-100]tusen[...]."""
    if not text:
        return None
    if "tusen" in text:
        head, _, tail = text.partition("tusen")
        thousands = 1 if head in ("", "ett", "en") else _below_1000(head)
        rest = 0 if not tail else _below_1000(tail)
        if thousands is None or rest is None or thousands > 9:
            return None
        return thousands * 1000 + rest
    return _below_1000(text)


def _below_1000(text: str) -> int | None:
    if "hundra" in text:
        head, _, tail = text.partition("hundra")
        # "nittonhundra" (1900) is how years are said: hundreds up to 99.
        hundreds = 1 if head in ("", "ett", "en") else _below_100(head)
        rest = 0 if not tail else _below_100(tail)
        if hundreds is None or rest is None:
            return None
        return hundreds * 100 + rest
    return _below_100(text)


def _below_100(text: str) -> int | None:
    if text in UNITS:
        return UNITS[text]
    if text in TEENS:
        return TEENS[text]
    for tens_word, tens in TENS.items():
        if text == tens_word:
            return tens
        if text.startswith(tens_word):
            unit = UNITS.get(text[len(tens_word) :])
            if unit is not None and unit > 0:
                return tens + unit
    return None
