"""Checks of a summary's content against the transcript and the instructions.

Shared by the summariser (it rejects an answer that fails them and asks again with the reason)
and by the summary evaluation (it counts what slipped through). Pure functions on text.

- Support: a decision or action item must share a content word with the segments it cites.
  Words are compared by their first five letters, a crude stem that lets Swedish inflection
  through (beviljas / beviljat, hyresavtal / hyresavtalet) without a stemmer.
- Template echo: a value that is a field name or label ("beslutet", "åtgärd", "roll"), or
  that is copied from the instructions (the prompt, its worked example) rather than from the
  transcript. Small models copy the prompt's wording into the answer; this catches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-zåäöéü0-9]+")


def _word_list(text: str) -> list[str]:
    return text.split()


STEM_CHARS = 5

# Swedish function words and words so common in any case conversation that sharing them says
# nothing about support ("beslut" occurs in the transcript and in any invented decision).
STOPWORDS = frozenset(
    _word_list(
        """
    och att en ett om för av är det som med på till har inte ska kan den de du jag vi ni han hon man
    sig så men eller från vid när då nu här där var vad vem hur ut upp in över under efter före mot
    utan också bara även mycket lite någon något några alla allt andra annan annat denna detta dessa
    sin sitt sina min mitt mina din ditt dina vår vårt våra er ert era hans hennes deras dem dig mig
    oss honom henne sedan redan igen inom samt eftersom därför blir blev bli vara varit hade haft
    skulle kommer kunde måste får fick gör göra gjorde ja nej okej tack hej mm the and of to is in
    for with talare beslut beslutet besluten beslutade beslutat åtgärd åtgärden åtgärder åtgärderna
    ärende ärendet samtal samtalet fråga frågan frågor
        """
    )
)

# Field names of the answer and their Swedish labels, and placeholders a model writes for
# "nothing": a value made only of these is not content.
FIELD_WORDS = frozenset(
    _word_list(
        """
    abstract matter participants participant decisions decision action actions action_items items
    item open_questions questions speaker role text owner deadline segments segment citations null
    none sammanfattning sammanfattningen ärende ärendet ärenden deltagare deltagaren deltagarna
    beslut beslutet besluten åtgärd åtgärden åtgärder åtgärderna fråga frågan frågor roll rollen
    talare talaren ansvarig senast datum tid sida okänd okänt okända saknas ingen inget inga ej n a
    x framgår framgår inte annars vem vad när
        """
    )
)
ECHO_NGRAM = 3
ECHO_SHARE = 0.5


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    return word[:STEM_CHARS]


def content_stems(text: str) -> frozenset[str]:
    """Stems of the words that carry content: not stopwords, at least 3 letters (or a number)."""
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS and (len(w) >= 3 or w.isdigit()))


def is_supported(text: str, cited_texts: Iterable[str]) -> bool:
    """True when `text` shares at least one content word (by stem) with the cited segments."""
    return bool(content_stems(text) & content_stems(" ".join(cited_texts)))


def _ngrams(tokens: list[str], n: int = ECHO_NGRAM) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


@dataclass(frozen=True)
class EchoCheck:
    """What counts as copied: the word n-grams of the instructions that the transcript does not
    also contain (a phrase both share may be quoted from the transcript)."""

    instruction_ngrams: frozenset[tuple[str, ...]]

    @classmethod
    def build(cls, instructions: str, transcript_text: str) -> EchoCheck:
        return cls(frozenset(_ngrams(words(instructions)) - _ngrams(words(transcript_text))))

    def is_echo(self, value: str | None) -> bool:
        if value is None:
            return False
        tokens = words(value)
        if not tokens:
            return True
        if all(t in FIELD_WORDS or t in STOPWORDS for t in tokens):
            return True
        grams = _ngrams(tokens)
        return bool(grams) and len(grams & self.instruction_ngrams) >= ECHO_SHARE * len(grams)


def is_vague_matter(matter: str) -> bool:
    """Empty, one word, or no content word at all: not a statement of what the case is."""
    tokens = words(matter)
    return len(tokens) < 2 or not content_stems(matter)
