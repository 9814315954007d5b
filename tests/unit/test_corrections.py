"""Speaker names and corrected segments on Transcript values, and the word diff: pure functions,
checked against the invariants every format relies on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.api.conftest import sample_transcript
from tests.transcripts import segment, transcript, words
from workers.documents.export import export
from workers.transcript.corrections import (
    DiffPart,
    changed_segments,
    correct_segments,
    speaker_labels,
    transcript_diff,
    with_speaker_names,
    word_diff,
)
from workers.transcript.formats import TEXT_FORMATS, render, to_json, transcript_from_json


def _invariants(t) -> None:
    for s in t.segments:
        assert s.text == " ".join(w.text for w in s.words)
        for a, b in zip(s.words, s.words[1:], strict=False):
            assert a.start_s <= a.end_s <= b.start_s + 1e-9
        for w in s.words:
            assert s.start_s - 1e-9 <= w.start_s and w.end_s <= s.end_s + 1e-9 and w.end_s <= t.duration_s


def test_names_replace_labels_everywhere_and_every_format_shows_them():
    diarized = sample_transcript(diarized=True)
    assert speaker_labels(diarized) == ("Talare 1", "Talare 2")
    named = with_speaker_names(diarized, {"Talare 1": "Anna Berg"})
    assert [s.speaker for s in named.segments] == ["Anna Berg", "Talare 2"]
    assert [sp.id for sp in named.speakers] == ["Anna Berg", "Talare 2"]
    assert [t.speaker for t in named.speaker_turns] == ["Anna Berg", "Talare 2"]
    assert diarized.segments[0].speaker == "Talare 1", "the input is not changed"
    for fmt in TEXT_FORMATS:
        text = render(named, fmt)
        assert ("Anna_Berg" if fmt == "rttm" else "Anna Berg") in text and "Talare 1" not in text, fmt
    assert export(named, "docx")[:2] == b"PK"  # its text is checked in tests/api/test_revisions.py
    assert transcript_from_json(to_json(named)) == named
    assert with_speaker_names(diarized, {}) is diarized
    assert speaker_labels(sample_transcript()) == ()


def test_a_corrected_segment_keeps_its_word_times_when_the_count_is_the_same():
    t = transcript(segment(0, words((0.0, 0.4, "Hej"), (0.5, 0.9, "ala"))), segment(1, words((1.0, 2.0, "Tack"))), duration_s=3)
    fixed = correct_segments(t, {0: "Hej  alla"})
    assert [(w.start_s, w.end_s, w.text, w.probability) for w in fixed.segments[0].words] == [
        (0.0, 0.4, "Hej", 0.9),
        (0.5, 0.9, "alla", 1.0),
    ]
    assert fixed.segments[1] is t.segments[1]
    assert changed_segments(t, fixed) == 1 and changed_segments(t, t) == 0
    _invariants(fixed)
    with pytest.raises(KeyError):
        correct_segments(t, {5: "x"})


@pytest.mark.parametrize("text", ["Hej allihopa ni som sitter här", "Hej", "", "a b c d e f g h i j k l m n o p"])
def test_a_new_word_count_shares_the_old_span_by_length_and_keeps_speakers(text):
    base = sample_transcript(diarized=True)
    spoken = replace(
        base.segments[0],
        speaker=None,
        words=(replace(base.segments[0].words[0], speaker="Talare 1"), replace(base.segments[0].words[1], speaker="Talare 2")),
    )
    t = replace(base, segments=(spoken, base.segments[1]))
    fixed = correct_segments(t, {0: text})
    out = fixed.segments[0]
    assert [w.text for w in out.words] == text.split()
    if out.words:
        assert out.words[0].start_s == 0.0 and out.words[-1].end_s == pytest.approx(0.9)
        assert out.words[0].speaker == "Talare 1"
        if len(out.words) > 3:
            assert out.words[-1].speaker == "Talare 2"
    assert (out.start_s, out.end_s) == (spoken.start_s, spoken.end_s)
    _invariants(fixed)
    for fmt in TEXT_FORMATS:
        render(fixed, fmt)


def test_the_word_diff_marks_removed_and_added_runs():
    assert word_diff(["mötet", "börjar", "nu"], ["mötet", "startar", "nu", "idag"]) == (
        DiffPart("same", "mötet"),
        DiffPart("removed", "börjar"),
        DiffPart("added", "startar"),
        DiffPart("same", "nu"),
        DiffPart("added", "idag"),
    )
    t = sample_transcript()
    diffs = transcript_diff(t, correct_segments(t, {1: "Mötet slutar"}))
    assert [d.changed for d in diffs] == [False, True]
    assert diffs[1].parts == (DiffPart("same", "Mötet"), DiffPart("removed", "börjar"), DiffPart("added", "slutar"))
