"""The transcript as people read it: words in order with their speaker, sentences kept whole,
and paragraphs (one speaker each) that start with a time.

The text, DOCX and subtitle renderers read the transcript through here, so they agree on who
said what. Nothing here changes the stored transcript: the JSON keeps every word's speaker as
diarization attributed it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workers.transcript.types import Segment, Transcript, Word

# Characters that end a sentence, and the closing quotes or brackets that may follow them.
SENTENCE_END = (".", "?", "!", "…")
_CLOSING = "\"'”’»)]"
# A speaker change inside a sentence is moved to the sentence's edge when the part cut off is at
# most this many words and shorter than the rest: diarization's turn edges drift by a few
# hundred ms, which hands the first or last word or two of one speaker's sentence to the other.
MAX_MOVED_WORDS = 3
# An unpunctuated stretch longer than this is not a sentence to trust: no speaker is moved in it.
MAX_SMOOTHED_SENTENCE_WORDS = 40
# A paragraph is closed at the first sentence end after this long, so that its time stays close
# to every line it holds (a summary's citation is found within one paragraph) ...
PARAGRAPH_TARGET_S = 30.0
# ... and at a segment end after this long when no sentence ends (unpunctuated speech).
PARAGRAPH_MAX_S = 60.0
# A silence this long closes a paragraph at a sentence or segment end: what follows it gets its own time.
PARAGRAPH_PAUSE_S = 3.0


@dataclass(frozen=True)
class Token:
    """One word as read: its speaker (after sentence smoothing), its segment, and whether the
    segment ends after it."""

    word: Word
    speaker: str | None
    segment_id: int
    segment_end: bool

    @property
    def text(self) -> str:
        return self.word.text


@dataclass(frozen=True)
class Paragraph:
    start_s: float
    end_s: float
    speaker: str | None
    text: str
    segment_ids: tuple[int, ...]


def ends_sentence(text: str) -> bool:
    return text.rstrip(_CLOSING).endswith(SENTENCE_END)


def segment_words(segment: Segment) -> tuple[Word, ...]:
    """The segment's words; for a segment stored without word times, its text split at spaces
    with times shared out by length (characters + 1 each), so no renderer ever has to cut a word."""
    if segment.words:
        return tuple(w for w in segment.words if w.text.strip())
    parts = segment.text.split()
    if not parts:
        return ()
    span_s = max(segment.end_s - segment.start_s, 0.0)
    total = sum(len(p) + 1 for p in parts)
    words, used = [], 0
    for part in parts:
        start = segment.start_s + span_s * used / total
        used += len(part) + 1
        end = segment.start_s + span_s * used / total
        words.append(Word(start_s=start, end_s=end, text=part, probability=1.0, speaker=segment.speaker))
    return tuple(words)


def tokens(transcript: Transcript) -> tuple[Token, ...]:
    """Every word of the transcript in order, with speakers smoothed to sentence edges."""
    raw: list[Token] = []
    for segment in transcript.segments:
        words = segment_words(segment)
        raw += [
            Token(word=w, speaker=segment.speaker, segment_id=segment.id, segment_end=i == len(words) - 1)
            for i, w in enumerate(words)
        ]
    if transcript.diarization_model is None:
        return tuple(raw)
    return tuple(t for sentence in _sentences(raw) for t in _smooth_sentence(sentence))


def _sentences(items: list[Token]) -> list[list[Token]]:
    sentences: list[list[Token]] = [[]]
    for token in items:
        sentences[-1].append(token)
        if ends_sentence(token.text):
            sentences.append([])
    return [s for s in sentences if s]


def _runs(sentence: list[Token]) -> list[list[Token]]:
    runs: list[list[Token]] = []
    for token in sentence:
        if runs and runs[-1][-1].speaker == token.speaker:
            runs[-1].append(token)
        else:
            runs.append([token])
    return runs


def _smooth_sentence(sentence: list[Token]) -> list[Token]:
    """The sentence with a short first or last speaker run given to its neighbour (see
    MAX_MOVED_WORDS). Runs inside the sentence stay: an interjection between two parts of
    someone's sentence is real more often than not."""
    if len(sentence) > MAX_SMOOTHED_SENTENCE_WORDS:
        return sentence
    runs = _runs(sentence)
    while len(runs) > 1:
        first, last = runs[0], runs[-1]
        # An edge run goes to its neighbour only when the neighbour holds more of the sentence.
        if len(first) <= MAX_MOVED_WORDS and len(first) < len(runs[1]) and len(first) <= len(last):
            runs = [[replace(t, speaker=runs[1][0].speaker) for t in first] + runs[1], *runs[2:]]
        elif len(last) <= MAX_MOVED_WORDS and len(last) < len(runs[-2]):
            runs = [*runs[:-2], runs[-2] + [replace(t, speaker=runs[-2][0].speaker) for t in last]]
        else:
            break
    return [t for run in runs for t in run]


def paragraphs(transcript: Transcript) -> tuple[Paragraph, ...]:
    """One paragraph per speaker turn, long turns closed at a sentence end (PARAGRAPH_TARGET_S)."""
    result: list[Paragraph] = []
    current: list[Token] = []
    for token in tokens(transcript):
        if current and _closes_before(current, token):
            result.append(_paragraph(current))
            current = []
        current.append(token)
    if current:
        result.append(_paragraph(current))
    return tuple(result)


def _closes_before(current: list[Token], token: Token) -> bool:
    last = current[-1]
    if token.speaker != last.speaker:
        return True
    lasted_s = last.word.end_s - current[0].word.start_s
    at_sentence_end = ends_sentence(last.text)
    if (lasted_s >= PARAGRAPH_TARGET_S or token.word.start_s - last.word.end_s >= PARAGRAPH_PAUSE_S) and at_sentence_end:
        return True
    return (lasted_s >= PARAGRAPH_MAX_S or token.word.start_s - last.word.end_s >= PARAGRAPH_PAUSE_S) and last.segment_end


def _paragraph(items: list[Token]) -> Paragraph:
    return Paragraph(
        start_s=items[0].word.start_s,
        end_s=max(t.word.end_s for t in items),
        speaker=items[0].speaker,
        text=" ".join(t.text for t in items),
        segment_ids=tuple(dict.fromkeys(t.segment_id for t in items)),
    )


def clock(seconds: float, with_hours: bool) -> str:
    """`mm:ss`, or `h:mm:ss` when `with_hours` (a recording over an hour): whole seconds, down."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if with_hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{hours * 60 + minutes:02d}:{secs:02d}"


def needs_hours(transcript: Transcript) -> bool:
    return max(transcript.duration_s, *(s.end_s for s in transcript.segments), 0.0) >= 3600


def to_text(transcript: Transcript) -> str:
    """`[mm:ss] Talare 1: ...` per paragraph (no label when not diarized)."""
    hours = needs_hours(transcript)
    lines = [f"[{clock(p.start_s, hours)}] {p.speaker + ': ' if p.speaker else ''}{p.text}" for p in paragraphs(transcript)]
    return "\n".join(lines) + ("\n" if lines else "")


def to_plain_text(transcript: Transcript) -> str:
    """The same paragraphs without times (speaker labels kept when diarized)."""
    lines = [f"{p.speaker + ': ' if p.speaker else ''}{p.text}" for p in paragraphs(transcript)]
    return "\n".join(lines) + ("\n" if lines else "")
