"""Is this digit string an identifier, and which? Checked with python-stdnum (Luhn, orgnr,
IBAN) and phonenumbers (Google's libphonenumber metadata), plus the personnummer date rule.

Input is digits only, with an optional leading "+" (an international phone number as written
or said: "plus fyrtiosex ..."), and `dash_after_six` when the number was written NNNNNN-NNNN or
NNNNNN+NNNN, the way a personnummer is written and a phone number is not.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from stdnum import luhn
from stdnum.se import orgnr

from workers.redaction.entities import EntityType

CHECKED, CUED, SHAPE_ONLY = 3, 2, 1


@dataclass(frozen=True)
class Verdict:
    type: EntityType
    score: int


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def personnummer_kind(digits: str) -> tuple[EntityType, bool] | None:
    """(PERSONNUMMER or SAMORDNINGSNUMMER, check digit right) for 10 or 12 digits shaped like
    one (a real date; day + 60 for a samordningsnummer); None otherwise."""
    if len(digits) == 12:
        century = int(digits[:2])
        if century not in (18, 19, 20):
            return None
        year, rest = int(digits[:4]), digits[2:]
    elif len(digits) == 10:
        # The century is not written; 19yy and 20yy are leap years alike (but 1900, which
        # the 12-digit form can state).
        year, rest = 2000 + int(digits[:2]), digits
    else:
        return None
    month, day = int(rest[2:4]), int(rest[4:6])
    kind = EntityType.PERSONNUMMER
    if day > 60:
        kind, day = EntityType.SAMORDNINGSNUMMER, day - 60
    if not _valid_date(year, month, day):
        return None
    return kind, luhn.is_valid(rest)


@lru_cache(maxsize=8192)
def phone_number(number: str, cued: bool = False) -> bool:
    """A Swedish (national, leading 0) or international (+ or 00) phone number that
    libphonenumber holds valid; with a cue ("telefon", "ring"), one of possible length."""
    if number.startswith("00"):
        number = "+" + number[2:]
    if not (number.startswith("+") or number.startswith("0")):
        return False
    digits = number.lstrip("+")
    if not 6 <= len(digits) <= 15:
        return False
    try:
        parsed = phonenumbers.parse(number, "SE")
    except phonenumbers.NumberParseException:
        return False
    if phonenumbers.is_valid_number(parsed):
        return True
    return cued and phonenumbers.is_possible_number(parsed) and len(digits) >= 8


def classify(digits: str, dash_after_six: bool = False, cues: frozenset[str] = frozenset()) -> Verdict | None:
    """The identifier `digits` is, or None. `cues` are the kinds the words before it name
    ("personnummer", "telefon", "bankgiro", ...: EntityType values)."""
    if digits.startswith("+"):
        return Verdict(EntityType.TELEFON, CHECKED) if phone_number(digits, True) else None
    if EntityType.BANKGIRO in cues and 7 <= len(digits) <= 8 and luhn.is_valid(digits):
        return Verdict(EntityType.BANKGIRO, CHECKED)
    if EntityType.PLUSGIRO in cues and 2 <= len(digits) <= 8 and luhn.is_valid(digits):
        return Verdict(EntityType.PLUSGIRO, CHECKED)
    pnr_cued = EntityType.PERSONNUMMER in cues or EntityType.SAMORDNINGSNUMMER in cues
    phone_cued = EntityType.TELEFON in cues
    if len(digits) == 10 and digits[0] == "0" and not dash_after_six and not pnr_cued and phone_number(digits, phone_cued):
        # 07X... is also the shape of a personnummer of someone born 2007: without a cue or the
        # 6-4 spelling, a valid mobile number is read as a phone number.
        return Verdict(EntityType.TELEFON, CHECKED)
    if len(digits) in (10, 12):
        if EntityType.ORGANISATIONSNUMMER in cues or int(digits[-8:-6]) >= 20:
            body = digits[-10:]
            if (len(digits) == 10 or digits[:2] == "16") and orgnr.is_valid(body):
                return Verdict(EntityType.ORGANISATIONSNUMMER, CHECKED)
        shape = personnummer_kind(digits)
        if shape is not None:
            kind, check_digit_right = shape
            if check_digit_right:
                return Verdict(kind, CHECKED)
            # A possible personnummer: misheard or misread digits are still personal data.
            if len(digits) == 12 or dash_after_six or pnr_cued or not phone_number(digits, phone_cued):
                return Verdict(kind, CUED if pnr_cued or dash_after_six else SHAPE_ONLY)
    if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
        return Verdict(EntityType.BANKKORT, CHECKED)
    if phone_number(digits, phone_cued):
        return Verdict(EntityType.TELEFON, CHECKED if not phone_cued else CUED)
    return None
