"""Words that say what the next words are: "personnummer", "telefon", "jag heter", "dnr".

The recognisers look back a few words for these; they tip a shape one way or the other
(a 10-digit number after "telefon" is a phone number even if it is also a valid date) and
let through what would otherwise be too weak ("min man Björn").
"""

from __future__ import annotations

from workers.redaction.entities import EntityType
from workers.redaction.spoken_numbers import normalise

# How far back (words) a cue reaches.
CUE_WINDOW_WORDS = 6

NUMBER_CUES: dict[str, EntityType] = {}
for _kind, _words in {
    EntityType.PERSONNUMMER: "personnummer personnumret personnumren personnr pnr pn född födelsenummer personnumer",
    EntityType.SAMORDNINGSNUMMER: "samordningsnummer samordningsnumret",
    EntityType.TELEFON: "telefon telefonnummer telefonnumret tel tfn mobil mobilen mobilnummer mobilnumret ring ringa ringer "
    "ringde nås sms smsa sms:a numret nummer hemnummer jobbnummer växel växeln",
    EntityType.ORGANISATIONSNUMMER: "organisationsnummer organisationsnumret orgnr org.nr org",
    EntityType.BANKGIRO: "bankgiro bankgirot bankgironummer bg",
    EntityType.PLUSGIRO: "plusgiro plusgirot plusgironummer postgiro postgirot pg",
    EntityType.IBAN: "iban",
    EntityType.REGISTRERINGSNUMMER: "registreringsnummer registreringsnumret regnummer regnumret regnr reg.nr bil bilen "
    "fordon fordonet",
}.items():
    for _word in _words.split():
        NUMBER_CUES[_word] = _kind

# Numbers after these are case numbers, clock times, amounts or the like: never redacted.
NOT_PERSONAL_BEFORE = frozenset(
    [
        "dnr",
        "diarienummer",
        "diarienumret",
        "ärendenummer",
        "ärendenumret",
        "ärende",
        "målnummer",
        "målnumret",
        "mål",
        "referensnummer",
        "referens",
        "ref",
        "ocr",
        "ocr-nummer",
        "ocr-numret",
        "ocr-nr",
        "fakturanummer",
        "fakturanumret",
        "ordernummer",
        "ordernumret",
        "kundnummer",
        "kundnumret",
        "avtalsnummer",
        "klockan",
        "kl",
        "paragraf",
        "kapitel",
        "sidan",
        "sida",
        "version",
        "år",
    ]
)
NOT_PERSONAL_AFTER = frozenset(
    ["kronor", "kr", "sek", "euro", "dollar", "procent", "kilo", "kilometer", "mil", "meter", "timmar", "minuter"]
)

# After these, the next word or two are a person's name.
NAME_CUES = frozenset(
    [
        "heter",
        "hette",
        "kallas",
        "kallad",
        "namnet",
        "namn",
        "man",
        "maken",
        "make",
        "fru",
        "frun",
        "hustru",
        "hustrun",
        "sambo",
        "sambon",
        "särbo",
        "partner",
        "handläggare",
        "handläggaren",
        "socialsekreterare",
        "socialsekreteraren",
        "kontaktperson",
        "kontaktpersonen",
        "kurator",
        "kuratorn",
        "son",
        "sonen",
        "dotter",
        "dottern",
        "barnet",
        "barnen",
        "mamma",
        "mamman",
        "pappa",
        "pappan",
        "mor",
        "modern",
        "far",
        "fadern",
        "bror",
        "brodern",
        "brorsan",
        "syster",
        "systern",
        "mormor",
        "morfar",
        "farmor",
        "farfar",
        "morbror",
        "farbror",
        "moster",
        "faster",
        "kusin",
        "kusinen",
        "granne",
        "grannen",
        "vän",
        "vännen",
        "kompis",
        "kompisen",
        "kollega",
        "kollegan",
        "chef",
        "chefen",
        "advokat",
        "advokaten",
        "ombud",
        "ombudet",
        "läkare",
        "läkaren",
        "doktor",
        "dr",
        "sjuksköterska",
        "sjuksköterskan",
        "herr",
        "fröken",
        "tolk",
        "tolken",
        "godman",
        "förmyndare",
        "vårdnadshavare",
        "pojkvän",
        "pojkvännen",
        "flickvän",
        "flickvännen",
        "exman",
        "exfru",
        "ex",
        "hälsningar",
        "hälsning",
        "mvh",
        "tack",
    ]
)
# Multi-word cues, as tuples of normalised words ending right before the name.
NAME_CUE_PHRASES = (("jag", "heter"), ("mitt", "namn", "är"), ("han", "heter"), ("hon", "heter"), ("god", "man"))


def number_cues(normalised: list[str], first: int, words: list[str] | None = None) -> frozenset[EntityType]:
    """The kind named by the nearest cue shortly before word `first`, within its sentence
    ("Personnummer 850312-3310. Ring 070-123 45 67": the phone number's cue is "ring")."""
    for k in range(first - 1, max(-1, first - 1 - CUE_WINDOW_WORDS), -1):
        if words is not None and k < first - 1 and words[k].rstrip("\"')»")[-1:] in ".?!":
            break
        if normalised[k] in NUMBER_CUES:
            return frozenset({NUMBER_CUES[normalised[k]]})
    return frozenset()


def not_personal_number(normalised: list[str], first: int, end: int) -> bool:
    """A case number, clock time or amount, by the word just before or just after it."""
    before = normalised[max(0, first - 2) : first]
    after = normalised[end : end + 1]
    return any(w in NOT_PERSONAL_BEFORE for w in before) or any(w in NOT_PERSONAL_AFTER for w in after)


def normalised_words(words: list[str]) -> list[str]:
    return [normalise(w) for w in words]
