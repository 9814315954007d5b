"""A transcript as people corrected it: speaker names for the whole job, segment texts edited,
and the words that changed between two versions. Pure functions on frozen values: the stored
transcript is never changed, each correction returns a new one.

A corrected segment keeps its time span. When its word count is unchanged each word keeps its
times (and its probability, unless its text changed: a word a person wrote is certain, 1.0);
when the count changes, the words are shared out over the span of the old words in proportion
to their length (characters + 1 each, as `reading.segment_words` does for a segment without
word times), and each takes the speaker of the old word at its middle.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from workers.transcript.types import Segment, Speaker, SpeakerTurn, Transcript, Word

# Limits of what a person may write; the REST API validates against the same numbers.
MAX_SPEAKER_NAME_CHARS = 100
MAX_SEGMENT_TEXT_CHARS = 5000


def speaker_labels(transcript: Transcript) -> tuple[str, ...]:
    """Every speaker label the transcript uses, in order of first appearance."""
    seen: dict[str, None] = {}
    for speaker in transcript.speakers:
        seen.setdefault(speaker.id)
    for segment in transcript.segments:
        if segment.speaker:
            seen.setdefault(segment.speaker)
        for word in segment.words:
            if word.speaker:
                seen.setdefault(word.speaker)
    return tuple(seen)


def with_speaker_names(transcript: Transcript, names: Mapping[str, str]) -> Transcript:
    """The transcript with each label of `names` replaced by its name, everywhere a speaker is
    named (words, segments, speakers, turns), so every renderer shows the names. Labels not in
    `names` stay as they are."""
    if not names:
        return transcript

    def name(label: str | None) -> str | None:
        return names.get(label, label) if label is not None else None

    def named(label: str) -> str:
        return names.get(label, label)

    return replace(
        transcript,
        segments=tuple(
            replace(s, speaker=name(s.speaker), words=tuple(replace(w, speaker=name(w.speaker)) for w in s.words))
            for s in transcript.segments
        ),
        speakers=tuple(Speaker(id=named(sp.id), talk_time_s=sp.talk_time_s) for sp in transcript.speakers),
        speaker_turns=tuple(
            SpeakerTurn(start_s=t.start_s, end_s=t.end_s, speaker=named(t.speaker)) for t in transcript.speaker_turns
        ),
    )


def normalize_text(text: str) -> str:
    """A person's text as stored: words separated by single spaces."""
    return " ".join(text.split())


def correct_segments(transcript: Transcript, texts: Mapping[int, str]) -> Transcript:
    """The transcript with the segments of `texts` (segment id -> new text) rewritten; every
    other segment, the speakers, turns and redaction notes unchanged. KeyError for an id the
    transcript does not have."""
    by_id = {s.id: s for s in transcript.segments}
    for segment_id in texts:
        if segment_id not in by_id:
            raise KeyError(segment_id)
    return replace(
        transcript,
        segments=tuple(_corrected(s, texts[s.id]) if s.id in texts else s for s in transcript.segments),
    )


def _corrected(segment: Segment, text: str) -> Segment:
    new_texts = normalize_text(text).split()
    old = tuple(w for w in segment.words if w.text.strip())
    if len(new_texts) == len(old):
        words = tuple(
            w if w.text.strip() == t else replace(w, text=t, probability=1.0) for w, t in zip(old, new_texts, strict=True)
        )
    else:
        words = _spread(new_texts, old, segment)
    return replace(segment, text=" ".join(new_texts), words=words)


def _spread(texts: Sequence[str], old: Sequence[Word], segment: Segment) -> tuple[Word, ...]:
    """`texts` as words over the old words' span (the segment's when it had none), shared out
    by length; each with the speaker of the old word at its middle."""
    if not texts:
        return ()
    start_s = old[0].start_s if old else segment.start_s
    end_s = old[-1].end_s if old else segment.end_s
    span_s = max(end_s - start_s, 0.0)
    total = sum(len(t) + 1 for t in texts)
    words: list[Word] = []
    used = 0
    for t in texts:
        w_start = start_s + span_s * used / total
        used += len(t) + 1
        w_end = start_s + span_s * used / total
        words.append(
            Word(start_s=w_start, end_s=w_end, text=t, probability=1.0, speaker=_speaker_at((w_start + w_end) / 2, old, segment))
        )
    return tuple(words)


def _speaker_at(time_s: float, old: Sequence[Word], segment: Segment) -> str | None:
    if not old:
        return segment.speaker
    nearest = min(
        old, key=lambda w: 0.0 if w.start_s <= time_s <= w.end_s else min(abs(w.start_s - time_s), abs(w.end_s - time_s))
    )
    return nearest.speaker


@dataclass(frozen=True)
class DiffPart:
    """A run of words the same in both versions, removed from the first, or added in the second."""

    op: Literal["same", "removed", "added"]
    text: str


@dataclass(frozen=True)
class SegmentDiff:
    segment_id: int
    start_s: float
    speaker: str | None
    parts: tuple[DiffPart, ...]

    @property
    def changed(self) -> bool:
        return any(p.op != "same" for p in self.parts)


def word_diff(before: Sequence[str], after: Sequence[str]) -> tuple[DiffPart, ...]:
    """The word-level difference of two texts (difflib's longest matching blocks)."""
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(a=list(before), b=list(after), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(DiffPart("same", " ".join(before[i1:i2])))
            continue
        if i2 > i1:
            parts.append(DiffPart("removed", " ".join(before[i1:i2])))
        if j2 > j1:
            parts.append(DiffPart("added", " ".join(after[j1:j2])))
    return tuple(parts)


def transcript_diff(before: Transcript, after: Transcript) -> tuple[SegmentDiff, ...]:
    """Segment by segment (matched by id; corrections never add or remove segments), the words
    of `before` against those of `after`."""
    after_by_id = {s.id: s for s in after.segments}
    diffs = []
    for segment in before.segments:
        other = after_by_id.get(segment.id)
        new_words = other.text.split() if other is not None else []
        diffs.append(
            SegmentDiff(
                segment_id=segment.id,
                start_s=segment.start_s,
                speaker=other.speaker if other is not None else segment.speaker,
                parts=word_diff(segment.text.split(), new_words),
            )
        )
    return tuple(diffs)


def changed_segments(before: Transcript, after: Transcript) -> int:
    return sum(1 for d in transcript_diff(before, after) if d.changed)
