import copy

from hypothesis import given
from hypothesis import strategies as st

from tests.transcripts import segment, words
from workers.pipeline.guards import (
    GuardOptions,
    apply_guards,
    clamp_timestamps,
    cut_looping_syllables,
    cut_repetition_loops,
    drop_hallucinated_segments,
)
from workers.transcript.types import Word


def texts(segments):
    return [w.text for s in segments for w in s.words]


def repeated(phrase: list[str], times: int, start: float = 0.0) -> tuple[Word, ...]:
    spec, t = [], start
    for _ in range(times):
        for token in phrase:
            spec.append((t, t + 0.3, token))
            t += 0.4
    return words(*spec)


def test_a_single_word_loop_is_kept_once():
    seg = segment(0, words((0, 0.2, "Hej"), (0.3, 0.5, "och")) + repeated(["och"], 10, start=1))
    assert texts(cut_repetition_loops((seg,), 3, 12)) == ["Hej", "och"]


def test_a_phrase_loop_across_segments_is_kept_once():
    loop = repeated(["Tack", "så", "mycket."], 6, start=2)
    segs = (
        segment(0, words((0, 0.5, "Mötet"), (0.6, 1.0, "slutar.")) + loop[:9]),
        segment(1, loop[9:]),
        segment(2, words((20, 20.5, "Hejdå."))),
    )
    result = cut_repetition_loops(segs, 3, 12)
    assert texts(result) == ["Mötet", "slutar.", "Tack", "så", "mycket.", "Hejdå."]
    # The segment left with no words is dropped; text follows the kept words.
    assert [s.text for s in result] == ["Mötet slutar. Tack så mycket.", "Hejdå."]


def test_repeats_within_the_limit_are_real_speech_and_kept():
    seg = segment(0, repeated(["nej"], 3) + words((5, 5.5, "tack")))
    assert texts(cut_repetition_loops((seg,), 3, 12)) == ["nej", "nej", "nej", "tack"]


def test_repetition_ignores_case_and_punctuation():
    seg = segment(0, words(*[(i, i + 0.5, t) for i, t in enumerate(["Ja,", "ja", "JA", "ja.", "ja!"])]))
    assert texts(cut_repetition_loops((seg,), 3, 12)) == ["Ja,"]


def test_looping_syllables_inside_a_word_are_cut():
    seg = segment(0, words((0, 1, "nittongtongtongtongtong"), (1, 2, "hahaha"), (2, 3, "Mississippi")))
    assert texts(cut_looping_syllables((seg,), 3)) == ["nittong", "hahaha", "Mississippi"]


def test_subtitle_credits_alone_are_dropped_but_not_inside_real_speech():
    credit = segment(0, words((0, 1, "Textning.nu")))
    real = segment(1, words((2, 3, "Textning.nu"), (3, 4, "är"), (4, 5, "en"), (5, 6, "sajt.")))
    assert drop_hallucinated_segments((credit, real)) == (real,)


def test_clamp_makes_times_monotonic_and_inside_the_audio():
    seg = segment(0, words((1.0, 1.5, "a"), (1.2, 1.1, "b"), (-1, 0.5, "c"), (9.0, 12.0, "d")))
    (out,) = clamp_timestamps((seg,), duration_s=10.0)
    assert [(w.start_s, w.end_s) for w in out.words] == [(1.0, 1.5), (1.5, 1.5), (1.5, 1.5), (9.0, 10.0)]
    assert (out.start_s, out.end_s) == (1.0, 10.0)


word_spec = st.tuples(
    st.floats(-5, 120, allow_nan=False), st.floats(-5, 120, allow_nan=False), st.sampled_from(["ja", "nej", "och", "Umeå", "."])
)


@given(st.lists(st.lists(word_spec, min_size=0, max_size=12), min_size=0, max_size=6), st.floats(0.5, 100))
def test_guarded_output_keeps_the_invariants(segment_specs, duration_s):
    segments = tuple(segment(i, words(*spec)) for i, spec in enumerate(segment_specs))
    before = copy.deepcopy(segments)
    result = apply_guards(segments, duration_s, GuardOptions())
    assert segments == before, "inputs are never mutated"
    previous_end = 0.0
    for i, seg in enumerate(result):
        assert seg.id == i and seg.words, "segments renumbered, none empty"
        assert 0.0 <= seg.start_s <= seg.end_s <= duration_s
        for w in seg.words:
            assert previous_end <= w.start_s <= w.end_s <= duration_s
            assert seg.start_s <= w.start_s and w.end_s <= seg.end_s, "words lie inside their segment"
            previous_end = w.end_s
        assert seg.text == " ".join(w.text for w in seg.words)


@given(st.lists(st.sampled_from(["ja", "nej", "och", "så"]), max_size=40))
def test_no_phrase_survives_more_than_the_allowed_repeats(tokens):
    seg = (segment(0, words(*[(i, i + 0.5, t) for i, t in enumerate(tokens)])),) if tokens else ()
    kept = texts(cut_repetition_loops(seg, 3, 12))
    for n in range(1, 13):
        for i in range(len(kept) - 4 * n + 1):
            chunks = [kept[i + k * n : i + (k + 1) * n] for k in range(4)]
            assert not all(c == chunks[0] for c in chunks), f"{chunks[0]} repeated 4 times"
