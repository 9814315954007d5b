"""Word-level speaker attribution: examples and properties (hypothesis)."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transcripts import segment, transcript, words
from workers.pipeline.diarize import Diarization, DiarizeOptions, diarization_from_tracks, speaker_count_problem
from workers.pipeline.speakers import assign_speakers
from workers.transcript.types import Speaker, SpeakerTurn


def diarization(*turns: tuple[float, float, str]) -> Diarization:
    names = dict.fromkeys(t[2] for t in turns)
    return Diarization(
        turns=tuple(SpeakerTurn(*t) for t in turns),
        speakers=tuple(Speaker(n, 1.0) for n in names),
        model="test-diarizer",
        seconds=0.5,
    )


def test_words_take_the_turn_they_overlap_most():
    t = transcript(segment(0, words((0.0, 0.5, "Hej"), (0.6, 1.0, "där"), (1.9, 2.4, "Tjena"))))
    d = diarization((0.0, 1.8, "Talare 1"), (1.8, 3.0, "Talare 2"))
    result = assign_speakers(t, d)
    assert [w.speaker for w in result.words] == ["Talare 1", "Talare 1", "Talare 2"]


def test_a_word_goes_to_the_speaker_it_overlaps_most_in_total():
    # "o0" covers 2 s of Talare 2 and 1 s + 2 s of Talare 1 (two turns, a short pause between).
    t = transcript(segment(0, words((4.0, 9.0, "o0"))))
    d = diarization((4.0, 6.0, "Talare 2"), (6.0, 7.0, "Talare 1"), (7.0, 9.0, "Talare 1"))
    assert assign_speakers(t, d).words[0].speaker == "Talare 1"


def test_a_segment_is_split_where_the_speaker_changes():
    t = transcript(segment(0, words((0.0, 0.5, "Kommer"), (0.6, 1.0, "du?"), (1.2, 1.5, "Ja."), (1.7, 2.0, "Bra."))))
    d = diarization((0.0, 1.1, "Talare 1"), (1.1, 1.6, "Talare 2"), (1.6, 2.5, "Talare 1"))
    result = assign_speakers(t, d)
    assert [(s.speaker, s.text) for s in result.segments] == [
        ("Talare 1", "Kommer du?"),
        ("Talare 2", "Ja."),
        ("Talare 1", "Bra."),
    ]
    assert [s.id for s in result.segments] == [0, 1, 2]
    assert result.segments[0].start_s == 0.0 and result.segments[-1].end_s == 2.0


def test_a_word_in_no_turn_takes_the_nearest_turn():
    # Whisper put "okej" in a pause the diarization left empty; it is nearer the second turn.
    t = transcript(segment(0, words((0.0, 0.4, "Ja"), (2.6, 2.9, "okej"))))
    d = diarization((0.0, 1.0, "Talare 1"), (3.0, 4.0, "Talare 2"))
    assert [w.speaker for w in assign_speakers(t, d).words] == ["Talare 1", "Talare 2"]


def test_equally_near_turns_choose_the_earlier():
    t = transcript(segment(0, words((2.0, 2.0, "eh"))))
    d = diarization((0.0, 1.0, "Talare 1"), (3.0, 4.0, "Talare 2"))
    assert assign_speakers(t, d).words[0].speaker == "Talare 1"


def test_no_turns_at_all_is_one_speaker():
    t = transcript(segment(0, words((0.5, 1.0, "Hej"))), segment(1, words((2.0, 2.5, "då"))))
    result = assign_speakers(t, Diarization(turns=(), speakers=(), model="test-diarizer", seconds=0.1))
    assert {w.speaker for w in result.words} == {"Talare 1"}
    assert [s.id for s in result.speakers] == ["Talare 1"]
    assert result.diarization_model == "test-diarizer"


def test_speakers_turns_and_timing_are_recorded():
    t = transcript(segment(0, words((0.0, 0.5, "Hej"))))
    result = assign_speakers(t, diarization((0.0, 1.0, "Talare 1")))
    assert result.speaker_turns == (SpeakerTurn(0.0, 1.0, "Talare 1"),)
    assert result.timings_s["diarize"] == 0.5 and result.timings_s["transcribe"] == 1.0


def test_overlapping_turns_are_refused():
    t = transcript(segment(0, words((0.0, 0.5, "Hej"))))
    with pytest.raises(ValueError, match="exclusive"):
        assign_speakers(t, diarization((0.0, 2.0, "Talare 1"), (1.0, 3.0, "Talare 2")))


def test_pyannote_labels_are_renamed_by_first_appearance_and_clamped():
    exclusive = [(5.0, 7.0, "SPEAKER_00"), (0.5, 4.0, "SPEAKER_01"), (7.0, 12.0, "SPEAKER_00")]
    full = [(0.5, 4.0, "SPEAKER_01"), (3.5, 7.0, "SPEAKER_00"), (7.0, 12.0, "SPEAKER_00")]
    d = diarization_from_tracks(exclusive, full, duration_s=10.0, model="m")
    assert d.turns == (
        SpeakerTurn(0.5, 4.0, "Talare 1"),
        SpeakerTurn(5.0, 7.0, "Talare 2"),
        SpeakerTurn(7.0, 10.0, "Talare 2"),
    )
    # Talk time counts overlap for both speakers, and stops at the end of the audio.
    assert d.speakers == (Speaker("Talare 1", 3.5), Speaker("Talare 2", 6.5))


def test_exclusive_tracks_that_still_overlap_are_cut_back_and_overlap_only_speakers_left_out():
    exclusive = [(0.0, 3.0, "A"), (2.5, 5.0, "B"), (3.0, 4.0, "A"), (6.0, 7.0, "A")]
    full = [*exclusive, (1.0, 2.0, "C")]  # C is heard only under A
    d = diarization_from_tracks(exclusive, full, duration_s=10.0, model="m")
    assert d.turns == (SpeakerTurn(0.0, 3.0, "Talare 1"), SpeakerTurn(3.0, 5.0, "Talare 2"), SpeakerTurn(6.0, 7.0, "Talare 1"))
    assert [s.id for s in d.speakers] == ["Talare 1", "Talare 2"]


def test_words_without_any_turn_get_one_speaker_but_no_invented_turn():
    t = transcript(segment(0, words((0.5, 1.0, "Hej"))))
    result = assign_speakers(t, Diarization(turns=(), speakers=(), model="m", seconds=0.1))
    assert result.words[0].speaker == "Talare 1" and result.speaker_turns == ()


@pytest.mark.parametrize(
    "counts, message",
    [
        ((0, None, None), "num_speakers must be between 1 and 50"),
        ((None, 4, 2), "larger than max_speakers"),
        ((2, 1, None), "either num_speakers or"),
    ],
)
def test_bad_speaker_counts_are_explained(counts, message):
    assert message in speaker_count_problem(*counts)
    with pytest.raises(ValueError, match=message):
        DiarizeOptions(*counts)


def test_good_speaker_counts_pass():
    assert speaker_count_problem(None, 2, 4) is None and speaker_count_problem(3, None, None) is None


# --- properties ---------------------------------------------------------------------------


@st.composite
def exclusive_turns(draw):
    """Sorted, non-overlapping turns (touching allowed) over 0..60 s, 1 to 4 speakers."""
    cuts = sorted(draw(st.lists(st.floats(0, 60, allow_nan=False), min_size=2, max_size=16, unique=True)))
    turns = []
    for start, end in zip(cuts, cuts[1:]):
        if draw(st.booleans()):  # leave some gaps
            turns.append((round(start, 3), round(end, 3), f"Talare {draw(st.integers(1, 4))}"))
    return [t for t in turns if t[1] > t[0]]


@st.composite
def transcripts(draw):
    """Segments of monotonic words over 0..60 s."""
    times = sorted(draw(st.lists(st.floats(0, 60, allow_nan=False), min_size=0, max_size=40)))
    spec = [(round(a, 3), round(b, 3), f"o{i}") for i, (a, b) in enumerate(zip(times[::2], times[1::2]))]
    ws = words(*spec)
    cut = draw(st.integers(0, len(ws)))
    segments = [s for s in (ws[:cut], ws[cut:]) if s]
    return transcript(*(segment(i, s) for i, s in enumerate(segments)))


@settings(max_examples=200, deadline=None)
@given(transcripts(), exclusive_turns())
def test_properties_of_attribution(t, turns):
    d = diarization(*turns)
    before_t, before_d = copy.deepcopy(t), copy.deepcopy(d)
    result = assign_speakers(t, d)

    # Inputs never mutated.
    assert t == before_t and d == before_d
    # Every word kept, in order, with exactly one speaker, which is a speaker found.
    assert [w.text for w in result.words] == [w.text for w in t.words]
    assert [(w.start_s, w.end_s) for w in result.words] == [(w.start_s, w.end_s) for w in t.words]
    known = {s.id for s in result.speakers}
    assert all(w.speaker is not None and w.speaker in known for w in result.words)
    for s in result.segments:
        # One speaker per segment, its words inside it, ids in order.
        assert all(w.speaker == s.speaker for w in s.words)
        assert all(s.start_s <= w.start_s and w.end_s <= s.end_s for w in s.words)
    assert [s.id for s in result.segments] == list(range(len(result.segments)))
    # Each input segment becomes one segment per run of same-speaker words (split only where
    # the speaker changes).
    expected_count = 0
    position = 0
    for original in t.segments:
        speakers = [w.speaker for w in result.words[position : position + len(original.words)]]
        expected_count += 1 + sum(1 for a, b in zip(speakers, speakers[1:]) if a != b)
        position += len(original.words)
    assert len(result.segments) == expected_count
    # A word overlapping turns gets a speaker among those it overlaps most in total.
    for w in result.words:
        overlaps: dict[str, float] = {}
        for s, e, spk in turns:
            if min(w.end_s, e) - max(w.start_s, s) > 0:
                overlaps[spk] = overlaps.get(spk, 0.0) + min(w.end_s, e) - max(w.start_s, s)
        if overlaps:
            assert overlaps[w.speaker] == max(overlaps.values())
