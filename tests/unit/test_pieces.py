import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.pipeline.pieces import piece_bounds
from workers.transcript.types import SAMPLE_RATE_HZ

SR = SAMPLE_RATE_HZ


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)


def test_short_audio_is_one_piece():
    assert piece_bounds(noise(30), max_piece_s=600) == [(0, 30 * SR)]


def test_the_cut_lands_in_the_pause_before_the_limit():
    audio = noise(100)
    audio[int(50 * SR) : int(50.6 * SR)] = 0.0  # a pause 10 s before the 60 s limit
    (first, second) = piece_bounds(audio, max_piece_s=60)
    assert first[0] == 0 and second == (first[1], len(audio))
    assert 50 * SR <= first[1] <= 50.6 * SR


@settings(max_examples=25, deadline=None)
@given(st.floats(1, 400), st.sampled_from([60.0, 90.0, 120.0]), st.integers(0, 3))
def test_pieces_cover_the_audio_in_order_within_the_limit(seconds, max_piece_s, seed):
    audio = noise(seconds, seed)
    bounds = piece_bounds(audio, max_piece_s)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(audio)
    for (_, e1), (s2, _) in zip(bounds, bounds[1:]):
        assert e1 == s2
    for start, end in bounds:
        assert 0 < end - start <= max_piece_s * SR
