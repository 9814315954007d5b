"""The kinds of personal data recognised, their placeholders, and a recognised span."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    PERSONNUMMER = "PERSONNUMMER"
    SAMORDNINGSNUMMER = "SAMORDNINGSNUMMER"
    ORGANISATIONSNUMMER = "ORGANISATIONSNUMMER"
    TELEFON = "TELEFON"
    EPOST = "E-POST"
    BANKKORT = "BANKKORT"
    IBAN = "IBAN"
    BANKGIRO = "BANKGIRO"
    PLUSGIRO = "PLUSGIRO"
    ADRESS = "ADRESS"
    REGISTRERINGSNUMMER = "REGISTRERINGSNUMMER"
    NAMN = "NAMN"
    # Digits read out one by one that make no checked identifier (a misheard personnummer or
    # phone number, most likely): redacted all the same.
    NUMMER = "NUMMER"

    @property
    def placeholder(self) -> str:
        return f"[{self.value}]"


@dataclass(frozen=True)
class Hit:
    """A recognised run of words in one segment: words[first:end].

    `score` orders overlapping hits (higher wins): 3 a checked identifier (date and check digit,
    Luhn, a valid phone number), 2 a pattern with a cue, 1 a shape only (a personnummer whose
    check digit is wrong is still redacted, as a possible one).
    """

    first: int
    end: int
    type: EntityType
    score: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.first < self.end:
            raise ValueError(f"empty or negative word range {self.first}:{self.end}")


@dataclass(frozen=True)
class EntitySpan:
    """A hit placed in the transcript: segment index and its word range, times in seconds."""

    type: EntityType
    segment_index: int
    first_word: int
    end_word: int
    start_s: float
    end_s: float
