"""Recognisers: a run of a transcript's words in, hits (word ranges with a type) out.

Each works on the words as the transcript has them, written ("850312-4321", "070-123 45 67",
"anna@exempel.se") or spoken ("åtta fem noll tre tolv", "snabel-a"), so that a hit is always a
whole run of words, which is what the placeholder replaces and what the audio tone covers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stdnum import iban

from workers.redaction import cues
from workers.redaction.entities import EntityType, Hit
from workers.redaction.identifiers import CHECKED, CUED, SHAPE_ONLY, classify
from workers.redaction.spoken_numbers import word_digits

Recognizer = Callable[[list[str], list[str]], list[Hit]]

# A personnummer said digit by digit with a separator word is 13 words; allow some slack.
MAX_NUMBER_RUN_WORDS = 16
# Words that stand for a separator inside a spoken number ("streck", "plus" for the
# century marker or an international prefix).
SEPARATOR_WORDS = {"streck": "-", "bindestreck": "-", "minus": "-", "-": "-", "–": "-", "plus": "+", "+": "+"}
_PNR_SPELLING = re.compile(r"^(\d{6}|\d{8})[-+]\d{4}$")


def _number_piece(word: str, norm: str) -> str | None:
    """What a word adds to a number being read: its digits, a separator, or None (not part of one)."""
    if norm in SEPARATOR_WORDS:
        return SEPARATOR_WORDS[norm]
    # "+46 (0)70 ...": the trunk zero in brackets is not dialled from abroad.
    text = word.replace("(0)", "").strip().strip(".,;:!?\"'()")
    if re.fullmatch(r"\+?[\d\-–+ ]*\d[\d\-–+ ]*", text):
        return text.replace("–", "-").replace(" ", "")
    return word_digits(word)


def number_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """Personnummer, samordningsnummer, organisationsnummer, phone and card numbers, bankgiro,
    plusgiro: the longest best-checked number read from consecutive words."""
    pieces = [_number_piece(w, n) for w, n in zip(words, norms)]
    hits: list[Hit] = []
    i = 0
    while i < len(words):
        if pieces[i] is None or pieces[i] == "-":
            i += 1
            continue
        best: Hit | None = None
        spelled = ""
        kinds = cues.number_cues(norms, i, words)
        for j in range(i, min(len(words), i + MAX_NUMBER_RUN_WORDS)):
            piece = pieces[j]
            if piece is None:
                break
            spelled += piece
            if piece in ("-", "+") and j > i:
                continue
            digits = re.sub(r"\D", "", spelled)
            if len(digits) > 19:
                break
            if len(digits) < 5:
                continue
            if spelled.startswith("+"):
                digits = "+" + digits
            verdict = classify(digits, bool(_PNR_SPELLING.match(spelled)), kinds)
            if verdict is None or cues.not_personal_number(norms, i, j + 1):
                continue
            candidate = Hit(i, j + 1, verdict.type, verdict.score)
            if best is None or (candidate.score, candidate.end) >= (best.score, best.end):
                best = candidate
        if best is not None:
            hits.append(best)
            i = best.end
        else:
            i += 1
    return hits + _digit_by_digit_leftovers(pieces, norms, hits)


# Nobody reads an amount, a date or a case number digit by digit; an identifier is read that
# way. A run of at least this many single digits is personal data even where no checked
# identifier explains it (recognition dropped or misheard a digit).
MIN_SINGLE_DIGITS = 6


def _digit_by_digit_leftovers(pieces: list[str | None], norms: list[str], hits: list[Hit]) -> list[Hit]:
    """NUMMER hits over the parts of long digit-by-digit runs that no other hit covers (not
    after "dnr", "klockan", ...: a case number read out digit by digit stays)."""
    covered = {k for hit in hits for k in range(hit.first, hit.end)}
    leftovers: list[Hit] = []
    k = 0
    while k < len(pieces):
        end = k
        while end < len(pieces) and pieces[end] is not None and (len(pieces[end] or "") == 1 or pieces[end] == "-"):
            end += 1
        singles = sum(1 for p in pieces[k:end] if p and p.isdigit())
        if singles >= MIN_SINGLE_DIGITS and not cues.not_personal_number(norms, k, end):
            start = None
            for position in range(k, end + 1):
                free = position < end and position not in covered
                if free and start is None:
                    start = position
                elif not free and start is not None:
                    leftovers.append(Hit(start, position, EntityType.NUMMER, SHAPE_ONLY))
                    start = None
        k = max(end, k + 1)
    return leftovers


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+", re.UNICODE)
AT_WORDS = frozenset({"snabel-a", "snabela", "@", "at-tecken", "at"})
DOT_WORDS = frozenset({"punkt", "dot", "."})
JOIN_WORDS = frozenset({"punkt", "dot", ".", "understreck", "bindestreck", "streck"})
# Words that can precede an address but are not part of it.
_EMAIL_STOP = frozenset(
    [
        "är",
        "min",
        "mitt",
        "mejl",
        "mejlen",
        "mail",
        "mailen",
        "mejladress",
        "mailadress",
        "e-post",
        "e-postadress",
        "epost",
        "adress",
        "adressen",
        "på",
        "till",
        "skicka",
        "skickar",
        "mejla",
        "maila",
        "heter",
        "och",
        "eller",
        "den",
        "det",
    ]
)


def email_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """Written addresses, and spoken ones: "anna punkt svensson snabel-a exempel punkt se"."""
    hits = [Hit(k, k + 1, EntityType.EPOST, CHECKED) for k, w in enumerate(words) if _EMAIL.search(w)]
    for k, norm in enumerate(norms):
        at_end = k + 1
        if norm == "snabel" and k + 1 < len(norms) and norms[k + 1] in ("a", "-a"):
            at_end = k + 2
        elif norm not in AT_WORDS or (norm == "at" and k + 1 < len(norms) and norms[k + 1] in DOT_WORDS):
            continue
        first = k
        while first - 1 >= 0 and norms[first - 1] and norms[first - 1] not in _EMAIL_STOP:
            first -= 1
            if not (first - 1 >= 0 and norms[first - 1] in JOIN_WORDS):
                break
            first -= 1
        end = at_end
        while end < len(norms) and norms[end] and norms[end] not in _EMAIL_STOP:
            end += 1
            if not (end < len(norms) and norms[end] in DOT_WORDS and end + 1 < len(norms)):
                break
            end += 1
        if first < k and end > at_end:
            hits.append(Hit(first, end, EntityType.EPOST, CHECKED))
    return hits


_IBAN_START = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]*$")
_IBAN_PART = re.compile(r"^[A-Z0-9]{1,8}$")


def iban_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """IBAN as written in groups ("SE45 5000 0000 0583 9825 7466"), checked by its mod-97 digits."""
    hits: list[Hit] = []
    for i, word in enumerate(words):
        text = word.strip(".,;:").upper()
        if not _IBAN_START.match(text):
            continue
        joined = text
        best = i + 1 if iban.is_valid(joined) else None
        for j in range(i + 1, min(len(words), i + 10)):
            part = words[j].strip(".,;:").upper()
            if not _IBAN_PART.match(part):
                break
            joined += part
            if iban.is_valid(joined):
                best = j + 1
        if best is not None:
            hits.append(Hit(i, best, EntityType.IBAN, CHECKED))
    return hits


# Swedish plates: three letters (no I, Q, V, Å, Ä, Ö) and two digits and a digit or letter
# (the last a letter since 2019; not O).
_PLATE_ONE = re.compile(r"^[A-HJ-PR-UW-Z]{3}\s?\d{2}[A-HJ-NPR-UW-Z\d]$")
_PLATE_LETTERS = re.compile(r"^[A-HJ-PR-UW-Z]{3}$")
_PLATE_DIGITS = re.compile(r"^\d{2}[A-HJ-NPR-UW-Z\d]$")
# Three capitals that are abbreviations in case work, not plates.
_NOT_PLATES = frozenset(["DNR", "SEK", "EUR", "USD", "KPI", "BVC", "LSS", "LVU", "LVM", "SFB", "SOL", "FHS", "HVB", "VAB", "AKF"])


def plate_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """Vehicle registration numbers, written in capitals ("ABC 123", "ABC12D")."""
    hits: list[Hit] = []
    for i, word in enumerate(words):
        text = word.strip(".,;:!?")
        cued = EntityType.REGISTRERINGSNUMMER in cues.number_cues(norms, i, words)
        upper = text.upper() if cued else text
        if _PLATE_ONE.match(upper) and upper[:3] not in _NOT_PLATES:
            hits.append(Hit(i, i + 1, EntityType.REGISTRERINGSNUMMER, CHECKED))
        elif _PLATE_LETTERS.match(upper) and upper not in _NOT_PLATES and i + 1 < len(words):
            following = words[i + 1].strip(".,;:!?")
            if _PLATE_DIGITS.match(following.upper() if cued else following):
                hits.append(Hit(i, i + 2, EntityType.REGISTRERINGSNUMMER, CHECKED))
    return hits


STREET_SUFFIXES = (
    "gatan",
    "gata",
    "vägen",
    "väg",
    "gränd",
    "gränden",
    "torget",
    "torg",
    "stigen",
    "allé",
    "allén",
    "backe",
    "backen",
    "leden",
    "stråket",
    "kajen",
    "platsen",
    "liden",
    "slingan",
    "ringen",
    "esplanaden",
    "promenaden",
    "gärdet",
    "hagen",
)
STREET_PREFIXES = frozenset(
    ["gamla", "norra", "södra", "östra", "västra", "stora", "lilla", "nya", "övre", "nedre", "sankt", "s:t"]
)
ADDRESS_CUES = frozenset(
    ["bor", "bodde", "adress", "adressen", "adressen", "folkbokförd", "folkbokförda", "boende", "flyttat", "flyttade", "flytta"]
)
_ENTRANCE_LETTERS = frozenset("abcdefgh")
_UNIT_WORDS = frozenset(["lgh", "lägenhet", "lägenhetsnummer", "uppgång", "port"])


def _street_word(word: str, norm: str, cued: bool, after_prefix: bool = False) -> bool:
    """A street's name: "Storgatan", "Ekbacksvägen"; "Torget" only after "Stora", "Norra", ..."""
    for suffix in STREET_SUFFIXES:
        if norm.endswith(suffix) and (len(norm) >= len(suffix) + 3 or after_prefix) and norm.isalpha():
            return cued or word.strip("\"'(")[:1].isupper()
    return False


def _small_number(word: str) -> bool:
    digits = word_digits(word)
    return digits is not None and not digits.startswith(("0", "+")) and len(digits) <= 3


def address_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """Street and number ("Storgatan 12 B, lgh 1102") and postcode and town ("123 45 Umeå")."""
    hits: list[Hit] = []
    for i, (word, norm) in enumerate(zip(words, norms)):
        cued = any(w in ADDRESS_CUES for w in norms[max(0, i - 4) : i])
        after_prefix = i > 0 and norms[i - 1] in STREET_PREFIXES and words[i - 1][:1].isupper()
        if not _street_word(word, norm, cued, after_prefix):
            continue
        first = i
        while first > 0 and norms[first - 1] in STREET_PREFIXES and words[first - 1][:1].isupper():
            first -= 1
        end = i + 1
        if end < len(words) and _small_number(words[end]):
            end += 1
            if end < len(words) and norms[end] in _ENTRANCE_LETTERS:
                end += 1  # the entrance letter: "12 B" (never "i", "å": "12 i Umeå")
        if end + 1 < len(words) and norms[end] in _UNIT_WORDS and word_digits(words[end + 1]):
            end += 2
        hits.append(Hit(first, end, EntityType.ADRESS, CHECKED))
    hits += _postcode_hits(words, norms)
    return hits


def _postcode_hits(words: list[str], norms: list[str]) -> list[Hit]:
    """Five digits (written "123 45", or said) then a capitalised town."""
    hits: list[Hit] = []
    for i in range(len(words)):
        start = i
        digits = ""
        j = i
        while j < len(words) and j < i + 5 and len(digits) < 5:
            piece = word_digits(words[j])
            if piece is None or piece.startswith("+"):
                break
            digits += piece
            j += 1
        if len(digits) != 5 or digits[0] == "0" or j >= len(words) or j == i:
            continue
        town = words[j].strip(".,;:!?")
        if not town[:1].isupper() or not town.replace("-", "").isalpha() or cues.not_personal_number(norms, start, j):
            continue
        end = j + 1
        if end < len(words) and words[end][:1].isupper() and words[j][-1:] not in ".,;:!?" and words[end].strip(".,").isalpha():
            end += 1  # two-word towns: "Upplands Väsby"
        hits.append(Hit(start, end, EntityType.ADRESS, CUED))
    return hits
