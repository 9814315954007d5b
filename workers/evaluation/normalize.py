"""Swedish text normalization for WER and CER scoring.

`normalize_swedish` is applied in exactly the same way to the reference and to the
hypothesis, so that only differences in what was said count as errors, not differences in
how it was written down. The result is lowercase words separated by single spaces. The rules:

1. Unicode and case. The text is put in Unicode NFKC form and lowercased, so that look-alike
   characters (full-width digits, ligatures, no-break spaces, a precomposed "é" against "e"
   plus an accent) compare equal. Letters are never stripped of their marks: å, ä, ö, é and ü
   stay as they are, because "får"/"far" and "för"/"for" are different words.

2. Symbols. "%" becomes "procent", "‰" "promille", "§" "paragraf" and "&" "och", which is
   how they are read aloud.

3. Abbreviations are written out as they are read: "t.ex." -> "till exempel", "kl." ->
   "klockan", "ca"/"c:a" -> "cirka", and the others in `ABBREVIATIONS`. Forms with a dot
   inside also match with spaces after the dots ("t. ex.") and without the final dot; forms
   listed without a dot ("kl", "ca", "dvs") also match with one. A one-part form listed with
   a dot ("st.", "tel.") needs the dot, because the bare letters also occur in other uses
   ("st-läkare"). Only whole words are expanded. A month abbreviation needs its dot
   ("3 feb." -> "3 februari"); "jan." and "jul." also need a day number before them,
   because "Jan" is a common first name and "jul" is the word for Christmas.

4. Numbers have one canonical form: digits. Digits in the text stay digits, and Swedish
   number words are read into digits by a small parser (`swedish_number`), so "14" and
   "fjorton" both become "14". Digits were chosen over words because Swedes say the same
   number in several ways that no single spelling-out covers: 1985 is said
   "nittonhundraåttiofem" but spelled out "ettusen niohundraåttiofem"; 2026 is both
   "tvåtusentjugosex" and "tjugohundratjugosex". Reading words into a value makes all of
   these "1985" and "2026". The parser understands:
   - the words 0-19, the tens (also the spoken "tretti", "förti", "femti", ...), "hundra"
     and "tusen", and compounds of them: "tjugoett" -> 21, "etthundra" and "hundra" -> 100,
     "femhundratusen" -> 500000;
   - a number of hundreds said as 11-99, the usual way to say years: "nittonhundraåttiofem"
     -> 1985;
   - a number split over several words (at most `MAX_NUMBER_WORDS`), when the words only
     make sense together: "fyrtio fem" -> 45, "två tusen tjugosex" -> 2026,
     "nitton hundra åttiofem" -> 1985.
     Words that do not combine stay separate numbers: "fem sex sju" -> "5 6 7",
     "fjorton trettio" -> "14 30". Words are never combined across punctuation, so the list
     "fyrtio, fem" stays "40 5", the same as "40, 5";
   - ordinals, written as the digits followed by "e": "tredje", "3:e" and "3e" -> "3e";
     "första" and "1:a" -> "1e"; "tjugoförsta" and "21:a" -> "21e". Ordinal words are only
     read on their own, not combined with the word before, because "tjugo andra länder" is
     "20 other countries", not "the 22nd";
   - "miljon" and "miljard" are nouns in Swedish ("två miljoner"), written as words even next
     to digits ("2 miljoner"), so they are left as words.
   A few written forms are turned into what is said first:
   - clock times "14.30" and "14:30" -> "14 30" (said "fjorton trettio"); a full hour
     "14.00" -> "14" (said "fjorton"), and leading zeros go ("09.05" -> "9 5");
   - a decimal comma "2,5" -> "2 komma 5" (said "två komma fem"); "1,2,3" is a list, not a
     decimal;
   - digit groups "10 000" and "1 250 000" (a group of one to three digits followed by
     groups of exactly three) are one number, "10000" and "1250000", because Swedish writes
     thousands with a space. The price is that two numbers in a row that happen to look
     like this, such as "5, 100", are joined too ("5100"); both sides are treated the same
     way, so this only matters for unusual lists.

5. "en", "ett" and 1. The digit 1 is said "en" or "ett" depending on the gender of the noun
   that follows ("1 bil", "1 hus"), which the digit does not show. So the two words and the
   digit 1 all become "en": "Testar 1, 2, 3" and "testar ett två tre" both give
   "testar en 2 3". The price is that a wrong article ("en hus") is not counted as an error.
   "en" and "ett" on their own stay words rather than becoming a number, because they are
   far more often the article than the number. Inside a number they do count: "ett hundra" -> 100.

6. Punctuation is removed (including the Swedish quotation marks ” and », the dashes – and
   —, and the ellipsis …) and separates words; whitespace is collapsed to single spaces.

7. Hesitations are dropped from both sides: a word made only of a hesitation sound such as
   "eh", "öh", "äh", "hm", "hmm", "mm", "mhm", "ehm", "öhm" or "eee" (any length of the same
   sounds). Transcripts differ in whether they write these down at all, and they carry no
   content. Words that merely contain them ("hemma", "öm") are kept.

Not handled: "fjorton och trettio" for 14.30, amounts in "miljoner" against digits
("2000000"), and inflected expansions (the text "s.k." is always "så kallad", never "så
kallade").

Running the function twice gives the same result as running it once, and its regular
expressions are compiled once at import, so scoring thousands of sentences is fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

# --- Tables -------------------------------------------------------------------------------

SYMBOLS = {"%": "procent", "‰": "promille", "§": "paragraf", "&": "och"}

# Written form -> what is said. See rule 3 of the module docstring for how dots match.
ABBREVIATIONS = {
    "t.ex.": "till exempel",
    "bl.a.": "bland annat",
    "ca": "cirka",
    "c:a": "cirka",
    "kl": "klockan",
    "s.k.": "så kallad",
    "d.v.s.": "det vill säga",
    "dvs": "det vill säga",
    "o.s.v.": "och så vidare",
    "osv": "och så vidare",
    "m.m.": "med mera",
    "m.fl.": "med flera",
    "t.o.m.": "till och med",
    "fr.o.m.": "från och med",
    "p.g.a.": "på grund av",
    "pga": "på grund av",
    "f.d.": "före detta",
    "nr": "nummer",
    "st.": "stycken",
    "tel.": "telefon",
    "kr": "kronor",
    "inkl": "inklusive",
    "exkl": "exklusive",
}

MONTHS = {
    "jan": "januari",
    "feb": "februari",
    "mar": "mars",
    "apr": "april",
    "jun": "juni",
    "jul": "juli",
    "aug": "augusti",
    "sep": "september",
    "sept": "september",
    "okt": "oktober",
    "nov": "november",
    "dec": "december",
}
# Also a first name and the word for Christmas: only a month right after a day number.
MONTHS_AFTER_DAY_ONLY = frozenset({"jan", "jul"})

# Number words. Kinds: a unit is 1-19, a ten 20-90; "hundra" and "tusen" multiply.
_ZERO, _UNIT, _TEN, _HUNDRED, _THOUSAND = "zero", "unit", "ten", "hundred", "thousand"

CARDINAL_WORDS = {
    "noll": (0, _ZERO),
    "en": (1, _UNIT),
    "ett": (1, _UNIT),
    "två": (2, _UNIT),
    "tre": (3, _UNIT),
    "fyra": (4, _UNIT),
    "fem": (5, _UNIT),
    "sex": (6, _UNIT),
    "sju": (7, _UNIT),
    "åtta": (8, _UNIT),
    "nio": (9, _UNIT),
    "tio": (10, _UNIT),
    "elva": (11, _UNIT),
    "tolv": (12, _UNIT),
    "tretton": (13, _UNIT),
    "fjorton": (14, _UNIT),
    "femton": (15, _UNIT),
    "sexton": (16, _UNIT),
    "sjutton": (17, _UNIT),
    "arton": (18, _UNIT),
    "nitton": (19, _UNIT),
    "tjugo": (20, _TEN),
    "trettio": (30, _TEN),
    "tretti": (30, _TEN),
    "fyrtio": (40, _TEN),
    "fyrti": (40, _TEN),
    "förtio": (40, _TEN),
    "förti": (40, _TEN),
    "femtio": (50, _TEN),
    "femti": (50, _TEN),
    "sextio": (60, _TEN),
    "sexti": (60, _TEN),
    "sjuttio": (70, _TEN),
    "sjutti": (70, _TEN),
    "åttio": (80, _TEN),
    "åtti": (80, _TEN),
    "nittio": (90, _TEN),
    "nitti": (90, _TEN),
    "hundra": (100, _HUNDRED),
    "tusen": (1000, _THOUSAND),
}

ORDINAL_WORDS = {
    "första": (1, _UNIT),
    "förste": (1, _UNIT),
    "andra": (2, _UNIT),
    "andre": (2, _UNIT),
    "tredje": (3, _UNIT),
    "fjärde": (4, _UNIT),
    "femte": (5, _UNIT),
    "sjätte": (6, _UNIT),
    "sjunde": (7, _UNIT),
    "åttonde": (8, _UNIT),
    "nionde": (9, _UNIT),
    "tionde": (10, _UNIT),
    "elfte": (11, _UNIT),
    "tolfte": (12, _UNIT),
    "trettonde": (13, _UNIT),
    "fjortonde": (14, _UNIT),
    "femtonde": (15, _UNIT),
    "sextonde": (16, _UNIT),
    "sjuttonde": (17, _UNIT),
    "artonde": (18, _UNIT),
    "nittonde": (19, _UNIT),
    "tjugonde": (20, _TEN),
    "trettionde": (30, _TEN),
    "fyrtionde": (40, _TEN),
    "femtionde": (50, _TEN),
    "sextionde": (60, _TEN),
    "sjuttionde": (70, _TEN),
    "åttionde": (80, _TEN),
    "nittionde": (90, _TEN),
    "hundrade": (100, _HUNDRED),
    "tusende": (1000, _THOUSAND),
}

# The longest number of words one written-out number is read from ("två tusen nio hundra
# åttio fem" is six).
MAX_NUMBER_WORDS = 6

# --- Compiled patterns --------------------------------------------------------------------

_SYMBOL = re.compile("[" + re.escape("".join(SYMBOLS)) + "]")


def _abbreviation_pattern(form: str) -> str:
    """The regex for one written form: spaces allowed after inner dots, see rule 3."""
    body, has_dot = (form[:-1], True) if form.endswith(".") else (form, False)
    parts = body.split(".")
    several_parts = len(parts) > 1 or ":" in body
    final_dot = r"\." if has_dot and not several_parts else r"\.?"
    return r"\.\s*".join(re.escape(part) for part in parts) + final_dot


def _abbreviation_key(written: str) -> str:
    return re.sub(r"[.\s]", "", written)


_ABBREVIATION = re.compile(
    r"(?<!\w)(?:" + "|".join(_abbreviation_pattern(f) for f in sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?!\w)"
)
_ABBREVIATION_BY_KEY = {_abbreviation_key(form): said for form, said in ABBREVIATIONS.items()}

_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_MONTH_AFTER_DAY = re.compile(r"(?<![\w])([0-9]{1,2}(?::?[ae])?\s+)(" + _MONTH_NAMES + r")\.")
_MONTH_ANYWHERE = re.compile(
    r"(?<!\w)(" + "|".join(m for m in sorted(MONTHS, key=len, reverse=True) if m not in MONTHS_AFTER_DAY_ONLY) + r")\."
)

# "3:e", "1:a", "3e" -> "3e".
_ORDINAL_DIGITS = re.compile(r"(?<![0-9])([0-9]+)(?::[ae]|e)(?!\w)")
# "14.30", "9:05"; not part of a date such as "3.12.2024".
_CLOCK = re.compile(r"(?<![0-9])(?<![0-9][.,:])([01]?[0-9]|2[0-3])[.:]([0-5][0-9])(?![0-9])(?![.,:][0-9])")
# "2,5"; not a list such as "1,2,3".
_DECIMAL = re.compile(r"(?<![0-9])(?<![0-9],)([0-9]+),([0-9]+)(?![0-9])(?!,[0-9])")

_PUNCTUATION = re.compile(r"[^\w\s]+")
_HESITATION = re.compile(r"e+h+m*|e{3,}|ö+h+m*|ä+h+m*|h+m+|m{2,}|m+h+m+")

_NUMBER_WORD = re.compile("|".join(sorted([*CARDINAL_WORDS, *ORDINAL_WORDS, "ettusen"], key=len, reverse=True)))
_DIGIT_GROUP_HEAD = re.compile(r"[0-9]{1,3}")
_DIGIT_GROUP_TAIL = re.compile(r"[0-9]{3}")

# "en", "ett" and the digit 1 are one word, see rule 5.
_ONE = {"en": "en", "ett": "en", "1": "en"}

# --- Number words -------------------------------------------------------------------------


class _Atom(NamedTuple):
    """One number word, or one part of a compound number word."""

    value: int
    kind: str
    ordinal: bool = False


_ATOMS = {
    **{word: (_Atom(v, kind),) for word, (v, kind) in CARDINAL_WORDS.items()},
    **{word: (_Atom(v, kind, ordinal=True),) for word, (v, kind) in ORDINAL_WORDS.items()},
    # The standard spelling drops one of the three t:s of "ett" + "tusen".
    "ettusen": (_Atom(1, _UNIT), _Atom(1000, _THOUSAND)),
}
_ONE_ATOM = _Atom(1, _UNIT)


@lru_cache(maxsize=4096)
def _word_atoms(word: str) -> tuple[_Atom, ...] | None:
    """The number parts of a word ("tjugoett" -> 20, 1), or None if it is not made of them."""
    atoms: list[_Atom] = []
    position = 0
    while position < len(word):
        match = _NUMBER_WORD.match(word, position)
        if match is None:
            return None
        atoms.extend(_ATOMS[match.group()])
        position = match.end()
    return tuple(atoms) or None


def _below_hundred(atoms: Sequence[_Atom], i: int) -> tuple[int | None, int]:
    """1-99 at atoms[i:]: a unit, or a ten with an optional unit 1-9 after it."""
    if i < len(atoms) and atoms[i].kind == _TEN:
        value, i = atoms[i].value, i + 1
        if i < len(atoms) and atoms[i].kind == _UNIT and atoms[i].value < 10:
            value, i = value + atoms[i].value, i + 1
        return value, i
    if i < len(atoms) and atoms[i].kind == _UNIT:
        return atoms[i].value, i + 1
    return None, i


def _below_thousand(atoms: Sequence[_Atom], i: int) -> tuple[int | None, int]:
    """[1-99] hundra [1-99], or 1-99. 11-99 hundreds are how years are said (1985)."""
    value, i = _below_hundred(atoms, i)
    if i < len(atoms) and atoms[i].kind == _HUNDRED:
        rest, i = _below_hundred(atoms, i + 1)
        value = (value or 1) * 100 + (rest or 0)
    return value, i


def _atoms_value(atoms: Sequence[_Atom]) -> int | None:
    """The value of a whole sequence of number parts, or None if they do not form one number."""
    if atoms[0].kind == _ZERO:
        return 0 if len(atoms) == 1 else None
    value, i = _below_thousand(atoms, 0)
    if i < len(atoms) and atoms[i].kind == _THOUSAND:
        rest, i = _below_thousand(atoms, i + 1)
        value = (value or 1) * 1000 + (rest or 0)
    return value if i == len(atoms) else None


def swedish_number(words: Sequence[str]) -> str | None:
    """The canonical digits for Swedish number words, or None if they are not one number.

    ["fyrtiofem"] and ["fyrtio", "fem"] -> "45"; ["tredje"] -> "3e"; ["fem", "sex"] -> None.
    "en" or "ett" alone is the article, not a number: None.
    """
    atoms: list[_Atom] = []
    for word in words:
        parts = _word_atoms(word)
        if parts is None:
            return None
        atoms.extend(parts)
    if not atoms or atoms == [_ONE_ATOM]:
        return None
    ordinal = atoms[-1].ordinal
    if any(a.ordinal for a in atoms[:-1]) or (ordinal and len(words) > 1):
        return None
    value = _atoms_value(atoms)
    if value is None:
        return None
    return f"{value}e" if ordinal else str(value)


def _read_numbers(words: Sequence[str]) -> list[str]:
    """Number words in one stretch of text without punctuation, read into digits, longest first."""
    out: list[str] = []
    i = 0
    while i < len(words):
        end = i
        while end < len(words) and end - i < MAX_NUMBER_WORDS and _word_atoms(words[end]):
            end += 1
        for j in range(end, i, -1):
            number = swedish_number(words[i:j])
            if number is not None:
                out.append(number)
                i = j
                break
        else:
            out.append(words[i])
            i += 1
    return out


# --- Written forms ------------------------------------------------------------------------


def _unicode_lower(text: str) -> str:
    """NFKC and lowercase, repeated until stable (lowercasing can undo NFKC and back)."""
    previous = None
    while text != previous:
        previous, text = text, unicodedata.normalize("NFKC", text).lower()
    return text


def _expand_abbreviation(match: re.Match[str]) -> str:
    return f" {_ABBREVIATION_BY_KEY[_abbreviation_key(match.group())]} "


def _expand_written_forms(text: str) -> str:
    """Symbols, months and abbreviations as words; ordinals, clock times, decimals as said."""
    text = _SYMBOL.sub(lambda m: f" {SYMBOLS[m.group()]} ", text)
    text = _MONTH_AFTER_DAY.sub(lambda m: f"{m.group(1)}{MONTHS[m.group(2)]} ", text)
    text = _MONTH_ANYWHERE.sub(lambda m: f"{MONTHS[m.group(1)]} ", text)
    text = _ORDINAL_DIGITS.sub(r"\1e", text)
    text = _CLOCK.sub(_clock_as_said, text)
    text = _DECIMAL.sub(r" \1 komma \2 ", text)
    # Last, so that it also sees words the steps above separated from digits ("14.30ca").
    return _ABBREVIATION.sub(_expand_abbreviation, text)


def _clock_as_said(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    return f" {hours} {minutes} " if minutes else f" {hours} "


def _join_digit_groups(tokens: Sequence[str]) -> list[str]:
    """["10", "000"] -> ["10000"]: a 1-3 digit group followed by 3-digit groups is one number."""
    out: list[str] = []
    growing = False
    for token in tokens:
        if growing and _DIGIT_GROUP_TAIL.fullmatch(token):
            out[-1] += token
            continue
        out.append(token)
        growing = _DIGIT_GROUP_HEAD.fullmatch(token) is not None
    return out


def normalize_swedish(text: str) -> str:
    """The scoring form of Swedish text; every rule is in the module docstring."""
    text = _expand_written_forms(_unicode_lower(text).replace("_", " "))
    tokens: list[str] = []
    for stretch in _PUNCTUATION.split(text):
        words = [w for w in stretch.split() if not _HESITATION.fullmatch(w)]
        tokens.extend(_read_numbers(words))
    return " ".join(_ONE.get(t, t) for t in _join_digit_groups(tokens))
