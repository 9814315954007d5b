"""Person names: given names and surnames from an openly licensed list, and context cues.

No NER model: no Swedish spaCy or transformer model installs from the package registry this
project can use, and nothing may download one at run time. The lists (data/, from Faker's
sv_SE provider, MIT; Isof and Skatteverket statistics) hold the 993 commonest given names and
500 commonest surnames; names outside them are caught only after a cue ("jag heter X",
"handläggare X"), beside a listed name ("Anna Xyz"), or by a surname ending (-sson, -berg,
-ström, ...). Names that are also common words ("björn", "rosa", "inga", "tom", "hans") count
only when written with a capital letter inside a sentence, after a cue, or beside another name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from workers.redaction import cues
from workers.redaction.entities import EntityType, Hit
from workers.redaction.identifiers import CHECKED, CUED, SHAPE_ONLY

_DATA = Path(__file__).parent / "data"

# Listed names that are also everyday Swedish (or English) words, lowercased: the animal
# "björn", the colour "rosa", "inga" (none), "hans" (his), "tom" (empty), "stig" (path),
# "lund" (grove, and a town) ... The listed names found in the Debian wswedish word list, less
# those too rare as words to matter in speech ("sanna", "lena", "karl"), and more by hand.
AMBIGUOUS = frozenset(
    [
        "alm",
        "asp",
        "axel",
        "ben",
        "berg",
        "björk",
        "björn",
        "blixt",
        "blom",
        "bo",
        "borg",
        "brink",
        "bror",
        "bäck",
        "dag",
        "del",
        "ek",
        "falk",
        "flink",
        "fors",
        "frank",
        "frans",
        "fred",
        "frid",
        "frisk",
        "gren",
        "hall",
        "hans",
        "hjort",
        "hult",
        "hägg",
        "inga",
        "inge",
        "jack",
        "juni",
        "kaj",
        "klara",
        "knut",
        "kvist",
        "lilja",
        "lina",
        "lind",
        "linda",
        "lisa",
        "liv",
        "ljung",
        "lo",
        "lova",
        "lund",
        "lönn",
        "maj",
        "malm",
        "mark",
        "milan",
        "mina",
        "modig",
        "nord",
        "nova",
        "palm",
        "per",
        "rask",
        "rita",
        "rosa",
        "rut",
        "saga",
        "skog",
        "sköld",
        "stark",
        "sten",
        "stig",
        "storm",
        "strand",
        "strid",
        "ström",
        "svärd",
        "tina",
        "tindra",
        "tom",
        "tuva",
        "urban",
        "vide",
        "viking",
        "ville",
        "viola",
        "rose",
        "max",
        "my",
        "iris",
        "vera",
        "tor",
        "gun",
        "ina",
        "mia",
        "vega",
        "luna",
        "august",
        "lage",
        "svea",
        "bill",
        "sam",
        "kim",
        "leo",
        "tim",
        "ted",
        "rune",
        "noa",
        "sol",
        "li",
        "thi",
        "said",
        "hanna",
        "else",
        "ella",
        "mira",
        "moa",
        "stella",
        "sally",
        "love",
        "lykke",
        "alba",
        "lara",
        "skoog",
        "wall",
        "thor",
        "löf",
        "rehn",
        "pihl",
        "grahn",
        "roos",
        "roth",
        "svahn",
        "ferm",
        "linde",
        "wester",
        "khan",
        "singh",
        "smith",
        "hjelm",
        "green",
        "malva",
        "linnea",
        "linnéa",
        "ebbe",
        "dan",
    ]
)
SURNAME_ENDINGS = (
    "sson",
    "berg",
    "ström",
    "strom",
    "qvist",
    "kvist",
    "gren",
    "lund",
    "holm",
    "dahl",
    "blad",
    "blom",
    "stedt",
    "lin",
    "lén",
    "rén",
    "dén",
    "sén",
    "man",
)
# Capitalised words that are not names even after a cue ("Jag heter Det..." does not happen,
# but "Han heter Ahmed och ..." does: "och" is never a name).
NOT_NAMES = frozenset(
    [
        "och",
        "eller",
        "men",
        "att",
        "som",
        "är",
        "var",
        "har",
        "hade",
        "inte",
        "det",
        "den",
        "de",
        "han",
        "hon",
        "vi",
        "ni",
        "jag",
        "du",
        "man",
        "en",
        "ett",
        "min",
        "mitt",
        "mina",
        "din",
        "ditt",
        "hans",
        "hennes",
        "deras",
        "vår",
        "vårt",
        "här",
        "där",
        "nu",
        "då",
        "så",
        "också",
        "bara",
        "också",
        "ju",
        "väl",
        "nej",
        "ja",
        "okej",
        "hej",
        "tack",
        "också",
        "på",
        "i",
        "till",
        "från",
        "med",
        "om",
        "för",
        "av",
        "ur",
        "vid",
        "hos",
        "efter",
        "innan",
        "under",
        "över",
        "mot",
        "utan",
        "mellan",
        "kommer",
        "skulle",
        "ska",
        "kan",
        "vill",
        "måste",
        "the",
    ]
)


# Listed names that are also words, but too rare as words to need context when written with a
# capital; in lower case they are names only after a cue ("det är sanna uppgifter").
WORDS_TOO = frozenset(
    [
        "sanna",
        "junior",
        "rut",
        "lena",
        "karl",
        "marina",
        "oliver",
        "jon",
        "ester",
        "helga",
        "mats",
        "lotta",
        "sven",
        "olle",
        "signe",
        "mila",
        "jasmin",
    ]
)
# Verbs that follow a person at a sentence's start: "Björn ringde", "Tom sa", "Per har".
PERSON_VERBS = frozenset(
    [
        "ringde",
        "ringer",
        "sa",
        "sade",
        "säger",
        "berättade",
        "berättar",
        "kom",
        "kommer",
        "skrev",
        "skriver",
        "mejlade",
        "mejlar",
        "svarade",
        "svarar",
        "frågade",
        "frågar",
        "tyckte",
        "tycker",
        "vill",
        "ville",
        "ska",
        "skulle",
        "har",
        "hade",
        "var",
        "är",
        "bor",
        "bodde",
        "jobbar",
        "arbetar",
        "mådde",
        "mår",
    ]
)
# After these a capitalised word is a place more often than a person ("i Visby", "mot Ronneby").
PLACE_PREPOSITIONS = frozenset(["i", "från", "till", "mot", "genom", "via", "utanför", "nära", "vid", "kring", "runt"])


_SPELLED = re.compile(r"^(?:[A-ZÅÄÖ]-){3,}[A-ZÅÄÖ]$")


@cache
def places() -> frozenset[str]:
    return _read("places.txt")


@cache
def given_names() -> frozenset[str]:
    return _read("given_names.txt")


@cache
def surnames() -> frozenset[str]:
    return _read("surnames.txt")


def _read(name: str) -> frozenset[str]:
    lines = (_DATA / name).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _capitalised(word: str) -> bool:
    text = word.strip("\"'(«")
    return text[:1].isupper() and not text.isupper()


def _sentence_start(words: list[str], k: int) -> bool:
    return k == 0 or words[k - 1].rstrip("\"')»")[-1:] in ".?!:"


def _listed(norm: str) -> bool:
    parts = norm.split("-")
    return all(p in given_names() or p in surnames() for p in parts if p) and bool(norm)


def _surname_shape(word: str, norm: str) -> bool:
    return _capitalised(word) and norm.isalpha() and len(norm) >= 5 and norm.endswith(SURNAME_ENDINGS)


def _cued(words: list[str], norms: list[str], k: int) -> bool:
    """A cue right before word k, in the same sentence ("ombud. Bra." is no cue)."""
    if k > 0 and words[k - 1].rstrip("\"')»")[-1:] in ".?!":
        return False
    if k > 0 and norms[k - 1] in cues.NAME_CUES:
        return True
    return any(tuple(norms[k - len(p) : k]) == p for p in cues.NAME_CUE_PHRASES if k >= len(p))


def name_hits(words: list[str], norms: list[str], known: frozenset[str] = frozenset()) -> list[Hit]:
    """One hit per name word; the caller joins neighbouring ones into one placeholder.
    `known`: names found elsewhere in the transcript; a capitalised word that is one of them
    is a name here too ("Björn ringde", when "min man Björn" was said earlier)."""
    strength: list[int] = []
    for k, (word, norm) in enumerate(zip(words, norms)):
        level = _name_strength(words, norms, k, word, norm)
        if level < CUED and norm in known and _capitalised(word):
            level = CUED
        strength.append(level)
    # A weak candidate (an ambiguous name, a capitalised word after a listed name) counts
    # when its neighbour is a name.
    hits = []
    for k, level in enumerate(strength):
        if level >= CUED:
            hits.append(Hit(k, k + 1, EntityType.NAMN, level))
        elif level == SHAPE_ONLY and ((k > 0 and strength[k - 1] >= CUED) or (k + 1 < len(strength) and strength[k + 1] >= CUED)):
            hits.append(Hit(k, k + 1, EntityType.NAMN, CUED))
    return hits


def _name_strength(words: list[str], norms: list[str], k: int, word: str, norm: str) -> int:
    """CHECKED or CUED: a name; SHAPE_ONLY: a name if beside one; 0: not a name."""
    if _SPELLED.match(word.strip(".,;:!?")):
        return CHECKED  # spelled out letter by letter: "S-V-E-N-S-S-O-N", what one does with a name
    if not norm or norm in NOT_NAMES or not norm.replace("-", "").isalpha():
        return 0
    cued = _cued(words, norms, k)
    listed = _listed(norm)
    if cued and (listed or _capitalised(word)):
        return CHECKED
    after_place_word = k > 0 and norms[k - 1] in PLACE_PREPOSITIONS
    if norm in places():
        return SHAPE_ONLY if _capitalised(word) else 0
    if listed and norm not in AMBIGUOUS:
        if _capitalised(word):
            return CHECKED
        # Lower case too: a transcript may write a name small ("pratade med anna").
        return CUED if norm not in WORDS_TOO else 0
    if listed and norm in AMBIGUOUS and _capitalised(word) and not _sentence_start(words, k):
        # Inside a sentence a capital says name, unless a preposition makes it a place ("i Lund").
        return SHAPE_ONLY if after_place_word else CUED
    if (
        listed
        and norm in AMBIGUOUS
        and norm not in ("inga", "mina")  # "Inga var hemma": none were at home
        and _capitalised(word)
        and k + 1 < len(norms)
        and norms[k + 1] in PERSON_VERBS
    ):
        # At a sentence's start the capital says nothing; a verb after it does ("Björn ringde").
        return CUED
    if _surname_shape(word, norm) and not _sentence_start(words, k):
        return SHAPE_ONLY if after_place_word else CUED
    if _capitalised(word) and (listed or not _sentence_start(words, k)):
        return SHAPE_ONLY
    return 0
