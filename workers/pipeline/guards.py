"""Guards against Whisper's known failure modes, as pure functions over segments.

Whisper invents text on silence ("Textning.nu", subtitle credits from its training data),
can get stuck repeating a phrase, and occasionally returns word times that step backwards or
past the end of the audio. Each guard takes segments and returns new ones.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace

from workers.transcript.types import Segment, Word, join_words

# Subtitle credits Whisper emits on silence and music in Swedish and English. Matched only
# against a whole segment: real speech rarely consists of nothing but one of these.
HALLUCINATED_PHRASES = frozenset(
    {
        "textning.nu",
        "textning stina hedin www.btistudios.com",
        "svensktextning.nu",
        "undertexter från amara.org-gemenskapen",
        "undertexter av amara.org-gemenskapen",
        "tack för att du tittade",
        "tack för att ni tittade",
        "tack för att du lyssnade",
        "prenumerera på kanalen",
        "thank you for watching",
        "thanks for watching",
        "subtitles by the amara.org community",
    }
)


@dataclass(frozen=True)
class GuardOptions:
    """How hard the guards cut.

    max_consecutive_repeats: a phrase of up to max_loop_phrase_words words said more than this
        many times in a row is a decoding loop; only its first occurrence is kept.
    max_loop_phrase_words: longest phrase (in words) checked for loops.
    drop_hallucinated_phrases: drop segments that are only a known subtitle credit.
    """

    max_consecutive_repeats: int = 3
    max_loop_phrase_words: int = 12
    drop_hallucinated_phrases: bool = True


def apply_guards(segments: tuple[Segment, ...], duration_s: float, options: GuardOptions = GuardOptions()) -> tuple[Segment, ...]:
    """All guards in order; the result has only segments with words, renumbered from 0."""
    if options.drop_hallucinated_phrases:
        segments = drop_hallucinated_segments(segments)
    segments = cut_repetition_loops(segments, options.max_consecutive_repeats, options.max_loop_phrase_words)
    segments = cut_looping_syllables(segments, options.max_consecutive_repeats)
    segments = clamp_timestamps(segments, duration_s)
    return tuple(replace(s, id=i) for i, s in enumerate(segments))


def normalize_token(text: str) -> str:
    """Lowercase, without punctuation: how repeated words are compared."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+", "", text)


def _normalize_phrase(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().strip()
    return re.sub(r"[\s!?.,:;\"'()]+$", "", re.sub(r"\s+", " ", text))


def drop_hallucinated_segments(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    return tuple(s for s in segments if _normalize_phrase(s.text) not in HALLUCINATED_PHRASES)


def cut_repetition_loops(segments: tuple[Segment, ...], max_repeats: int, max_phrase_words: int) -> tuple[Segment, ...]:
    """Keep one occurrence of any phrase repeated more than `max_repeats` times in a row.

    Loops often cross segment boundaries, so words are scanned as one sequence and regrouped
    into their original segments afterwards; segments left without words are dropped.
    """
    tagged = [(i, w) for i, s in enumerate(segments) for w in s.words]
    keys = [normalize_token(w.text) for _, w in tagged]
    keep = [True] * len(tagged)
    pos = 0
    while pos < len(tagged):
        skip_to = pos + 1
        for n in range(1, max_phrase_words + 1):
            phrase = keys[pos : pos + n]
            if len(phrase) < n or not any(phrase):
                break
            repeats = 1
            while keys[pos + repeats * n : pos + (repeats + 1) * n] == phrase:
                repeats += 1
            if repeats > max_repeats:
                for k in range(pos + n, pos + repeats * n):
                    keep[k] = False
                skip_to = pos + repeats * n
                break
        pos = skip_to

    kept_words: dict[int, list[Word]] = {}
    for (seg_index, word), kept in zip(tagged, keep):
        if kept:
            kept_words.setdefault(seg_index, []).append(word)
    return tuple(_with_words(s, tuple(kept_words[i])) for i, s in enumerate(segments) if i in kept_words)


def cut_looping_syllables(segments: tuple[Segment, ...], max_repeats: int) -> tuple[Segment, ...]:
    """Shorten words in which a short piece repeats more than `max_repeats` times in a row.

    Whisper's token loops also happen inside one "word" ("nittongtongtongtong..."), which the
    word-level loop guard cannot see.
    """
    loop = re.compile(rf"(\w{{1,8}}?)\1{{{max_repeats},}}")
    result = []
    for segment in segments:
        words = tuple(replace(w, text=loop.sub(r"\1", w.text)) for w in segment.words)
        result.append(_with_words(segment, words) if words != segment.words else segment)
    return tuple(result)


def clamp_timestamps(segments: tuple[Segment, ...], duration_s: float) -> tuple[Segment, ...]:
    """Make word times non-decreasing, non-negative, start <= end, and within the audio.

    Segment bounds become the span of their words, so words always sit inside their segment.
    """
    # Times are kept in whole milliseconds; rounding down keeps the last word inside the audio.
    duration_s = math.floor(duration_s * 1000) / 1000
    result = []
    previous_end = 0.0
    for segment in segments:
        words = []
        for w in segment.words:
            start = min(max(w.start_s, previous_end, 0.0), duration_s)
            end = min(max(w.end_s, start), duration_s)
            words.append(replace(w, start_s=round(start, 3), end_s=round(end, 3)))
            previous_end = end
        if words:
            result.append(_with_words(segment, tuple(words)))
    return tuple(result)


def _with_words(segment: Segment, words: tuple[Word, ...]) -> Segment:
    return replace(
        segment,
        words=words,
        text=join_words(words),
        start_s=words[0].start_s if words else segment.start_s,
        end_s=words[-1].end_s if words else segment.end_s,
    )
