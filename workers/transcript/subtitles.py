"""Subtitle cues (SRT, WebVTT) cut by the usual conventions (EBU, Netflix's timed-text guide):

- at most `max_lines` lines of at most `max_line_chars` characters, the speaker label
  ("Talare 1: ") counted on the first line; a line is longer only when it holds a single word
  that is longer by itself; words are never cut;
- on screen 1-7 s and read at no more than 17 characters per second: a cue stays up after its
  last word as long as that needs, until the next cue starts or the recording ends; longer than
  7 s only for one word that lasts longer;
- cues are cut, and lines broken, at sentence ends first, then at clause punctuation, then
  before a conjunction, then after a pause, and only then between any two words;
- one speaker per cue; a silence of MAX_PAUSE_IN_CUE_S or more also ends a cue.

Where the cues fall is chosen for a whole stretch of one speaker at once (dynamic programming
over the places a cue may end), so a short last word is joined to its sentence rather than
left on screen alone for a fraction of a second.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from workers.transcript.reading import Token, ends_sentence, tokens
from workers.transcript.types import Transcript, Word

# Swedish words that open a clause: a break before one reads naturally. Words that are as often
# prepositions or adverbs (för, om, så, då) are left out; "och" and "eller" join single words as
# often as clauses ("gammal och skröplig"), so a break before them is worth less.
CLAUSE_OPENERS = frozenset(
    ["att", "som", "men", "eftersom", "därför", "medan", "fast", "utan", "innan", "tills", "vilket", "vilken", "vilka", "när"]
)
WORD_JOINERS = frozenset(("och", "eller"))
# Prepositions and articles belong with the words after them: a break right after one costs more.
CLINGING_WORDS = frozenset(
    [
        "i",
        "på",
        "av",
        "för",
        "till",
        "med",
        "om",
        "en",
        "ett",
        "den",
        "det",
        "de",
        "från",
        "hos",
        "mot",
        "vid",
        "över",
        "genom",
        "åt",
        "ur",
    ]
)
_CLAUSE_PUNCTUATION = (",", ";", ":", "–", "—")
# A silence this long inside a stretch of speech ends the cue before it.
MAX_PAUSE_IN_CUE_S = 2.0
# A pause after a word this long makes a break there nearly as good as a comma.
BREATH_PAUSE_S = 0.5

# Costs of ending a cue (or a line) after a word, by what follows it; lower is better.
_COST_SENTENCE_END = 0.0
_COST_CLAUSE_PUNCTUATION = 1.0
_COST_BREATH = 1.5
_COST_BEFORE_OPENER = 2.0
_COST_BEFORE_JOINER = 4.0
_COST_ANYWHERE = 4.5
_COST_AFTER_CLINGING = 1.5
# Each cue costs this much, so cues are as full as the rules allow.
_COST_PER_CUE = 1.0
# A cue shorter than min_duration_s (it could not stay up longer) costs this much ...
_COST_TOO_SHORT = 12.0
# ... and each character per second over max_chars_per_s this much.
_COST_PER_CPS_OVER = 0.4
# Lines of unequal length cost this much per line width of difference.
_COST_LINE_IMBALANCE = 4.0


@dataclass(frozen=True)
class SubtitleOptions:
    """How subtitle cues are cut. The defaults are the usual broadcast rules."""

    max_line_chars: int = 42
    max_lines: int = 2
    min_duration_s: float = 1.0
    max_duration_s: float = 7.0
    max_chars_per_s: float = 17.0

    def __post_init__(self) -> None:
        if self.max_line_chars < 10:
            raise ValueError(f"subtitle lines need at least 10 characters, not {self.max_line_chars}")
        if not 1 <= self.max_lines <= 4:
            raise ValueError(f"subtitles take 1 to 4 lines, not {self.max_lines}")
        if not 0 < self.min_duration_s < self.max_duration_s:
            raise ValueError("a cue's minimum duration must be above 0 and below its maximum")
        if self.max_chars_per_s <= 0:
            raise ValueError("the reading speed must be above 0 characters per second")


@dataclass(frozen=True)
class Cue:
    """One subtitle: its time on screen, its speaker, its words and its lines as shown (the first
    one with the speaker label)."""

    start_s: float
    end_s: float
    speaker: str | None
    words: tuple[Word, ...]
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def speaker_label(speaker: str | None) -> str:
    return f"{speaker}: " if speaker else ""


def subtitle_cues(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> tuple[Cue, ...]:
    """The transcript's words as cues (see the module's rules), in order, never overlapping."""
    items = tokens(transcript)
    speech_end_s = max([transcript.duration_s, *(t.word.end_s for t in items)])
    cues: list[Cue] = []
    for start, stop in _stretches(items):
        # Where the next stretch starts, a cue of this one must be gone.
        limit_s = items[stop].word.start_s if stop < len(items) else speech_end_s
        cues += _cut_stretch(items[start:stop], limit_s, options)
    return tuple(cues)


def _stretches(items: tuple[Token, ...]) -> list[tuple[int, int]]:
    """[start, stop) index ranges of one speaker without a long silence."""
    bounds = [0]
    for i in range(1, len(items)):
        if items[i].speaker != items[i - 1].speaker or items[i].word.start_s - items[i - 1].word.end_s >= MAX_PAUSE_IN_CUE_S:
            bounds.append(i)
    bounds.append(len(items))
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _break_cost(before: Token, after: Token | None) -> float:
    """How good a place to end a cue or a line is between `before` and `after`."""
    if after is None or ends_sentence(before.text):
        return _COST_SENTENCE_END
    if before.text.rstrip("\"'”’»)]").endswith(_CLAUSE_PUNCTUATION):
        return _COST_CLAUSE_PUNCTUATION
    if after.word.start_s - before.word.end_s >= BREATH_PAUSE_S:
        return _COST_BREATH
    following = after.text.lower().strip("\"'“”‘’«»(")
    cost = _COST_ANYWHERE
    if following in CLAUSE_OPENERS:
        cost = _COST_BEFORE_OPENER
    elif following in WORD_JOINERS:
        cost = _COST_BEFORE_JOINER
    if before.text.lower() in CLINGING_WORDS:
        cost += _COST_AFTER_CLINGING
    return cost


def _cut_stretch(items: tuple[Token, ...], limit_s: float, options: SubtitleOptions) -> list[Cue]:
    """The cheapest way to cut one speaker's stretch into cues: best[j] is the least cost of
    cutting items[:j], each cue items[i:j] feasible (lines, duration) or a single word."""
    n = len(items)
    label = speaker_label(items[0].speaker)
    best = [math.inf] * (n + 1)
    came_from = [0] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] == math.inf:
            continue
        layout = _GreedyLines(options, label)
        for j in range(i + 1, n + 1):
            fits = layout.add(items[j - 1].text)
            span_s = items[j - 1].word.end_s - items[i].word.start_s
            if j - i > 1 and (not fits or span_s > options.max_duration_s):
                break
            next_start_s = items[j].word.start_s if j < n else limit_s
            cost = best[i] + _cue_cost(items, i, j, next_start_s, label, options)
            if cost < best[j]:
                best[j], came_from[j] = cost, i
    cuts = [n]
    while cuts[-1] > 0:
        cuts.append(came_from[cuts[-1]])
    cuts.reverse()
    cues = []
    for i, j in zip(cuts, cuts[1:]):
        next_start_s = items[j].word.start_s if j < n else limit_s
        cues.append(_cue(items[i:j], next_start_s, label, options))
    return cues


def _cue_cost(items: tuple[Token, ...], i: int, j: int, next_start_s: float, label: str, options: SubtitleOptions) -> float:
    chars = len(label) + sum(len(t.text) for t in items[i:j]) + (j - i - 1)
    start_s, end_s = _display_times(items[i:j], next_start_s, chars, options)
    duration_s = end_s - start_s
    cost = _COST_PER_CUE + _break_cost(items[j - 1], items[j] if j < len(items) else None)
    if duration_s < options.min_duration_s:
        cost += _COST_TOO_SHORT
    if duration_s > 0:
        cost += max(0.0, chars / duration_s - options.max_chars_per_s) * _COST_PER_CPS_OVER
    return cost


def _display_times(items: tuple[Token, ...], next_start_s: float, chars: int, options: SubtitleOptions) -> tuple[float, float]:
    """From the first word's start until the cue has been up long enough to read (at least
    min_duration_s, at most max_duration_s), but never past the next cue's start."""
    start_s = items[0].word.start_s
    speech_end_s = max(t.word.end_s for t in items)
    wanted_s = start_s + min(max(options.min_duration_s, chars / options.max_chars_per_s), options.max_duration_s)
    end_s = min(max(speech_end_s, wanted_s), max(next_start_s, start_s))
    return start_s, end_s


def _cue(items: tuple[Token, ...], next_start_s: float, label: str, options: SubtitleOptions) -> Cue:
    lines = break_lines(items, label, options)
    start_s, end_s = _display_times(items, next_start_s, sum(len(line) for line in lines) + len(lines) - 1, options)
    return Cue(start_s=start_s, end_s=end_s, speaker=items[0].speaker, words=tuple(t.word for t in items), lines=lines)


class _GreedyLines:
    """Fills lines word by word: whether the words so far fit in max_lines lines. Greedy filling
    needs the fewest lines, so it answers exactly, and it grows one word at a time."""

    def __init__(self, options: SubtitleOptions, label: str):
        self.options = options
        self.lines = 1
        self.width = len(label)
        self.words_on_line = 0

    def add(self, text: str) -> bool:
        if self.words_on_line == 0:
            self.width += len(text)
        elif self.width + 1 + len(text) <= self.options.max_line_chars:
            self.width += 1 + len(text)
        else:
            self.lines += 1
            self.width = len(text)
            self.words_on_line = 0
        self.words_on_line += 1
        return self.lines <= self.options.max_lines and (self.width <= self.options.max_line_chars or self.words_on_line == 1)


def break_lines(items: tuple[Token, ...], label: str, options: SubtitleOptions) -> tuple[str, ...]:
    """The cue's lines: one when it fits, else the fewest lines that fit, broken where it reads
    best and balanced in length. A line that is a single word may be longer than the limit."""
    texts = [t.text for t in items]
    n = len(texts)
    for line_count in range(1, min(options.max_lines, n) + 1):
        best: tuple[float, tuple[str, ...]] | None = None
        for cuts in itertools.combinations(range(1, n), line_count - 1):
            bounds = (0, *cuts, n)
            lines = tuple(label * (k == 0) + " ".join(texts[a:b]) for k, (a, b) in enumerate(zip(bounds, bounds[1:])))
            if any(len(line) > options.max_line_chars and b - a > 1 for line, a, b in zip(lines, bounds, bounds[1:])):
                continue
            widths = [len(line) for line in lines]
            cost = sum(_break_cost(items[c - 1], items[c]) for c in cuts)
            cost += (max(widths) - min(widths)) / options.max_line_chars * _COST_LINE_IMBALANCE
            if best is None or cost < best[0]:
                best = (cost, lines)
        if best is not None:
            return best[1]
    # More words than lines allow: only a single over-long word per line gets here; keep them whole.
    return (label + " ".join(texts),)


def _timestamp(seconds: float, decimal_marker: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_marker}{millis:03d}"


def to_srt(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> str:
    blocks = [
        f"{i}\n{_timestamp(c.start_s, ',')} --> {_timestamp(c.end_s, ',')}\n" + "\n".join(c.lines) + "\n"
        for i, c in enumerate(subtitle_cues(transcript, options), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript, options: SubtitleOptions = SubtitleOptions()) -> str:
    blocks = ["WEBVTT\n"]
    blocks += [
        f"{_timestamp(c.start_s, '.')} --> {_timestamp(c.end_s, '.')}\n" + "\n".join(_vtt_lines(c)) + "\n"
        for c in subtitle_cues(transcript, options)
    ]
    return "\n".join(blocks)


def _vtt_lines(cue: Cue) -> list[str]:
    # The speaker goes in a WebVTT voice span (players show or style it; the closing tag is
    # optional) in place of the label the lines were measured with.
    lines = [_vtt_escape(line) for line in cue.lines]
    label = speaker_label(cue.speaker)
    if cue.speaker:
        lines[0] = f"<v {_vtt_escape(cue.speaker)}>" + _vtt_escape(cue.lines[0].removeprefix(label))
    return lines


def _vtt_escape(text: str) -> str:
    # "-->" and markup characters would end or corrupt a WebVTT cue.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
