from hypothesis import given
from hypothesis import strategies as st

from workers.pipeline.batch import PackingOptions, pack

OPTIONS = PackingOptions(max_window_s=28.0, gap_s=1.0)


def test_short_clips_share_windows():
    placements = pack([5.0, 5.0, 5.0, 5.0, 5.0, 5.0], OPTIONS)
    assert [p.window for p in placements] == [0, 0, 0, 0, 1, 1]
    assert [p.offset_s for p in placements] == [0.0, 6.0, 12.0, 18.0, 24.0, 30.0]


@given(st.lists(st.floats(0.1, 28.0), min_size=1, max_size=80))
def test_windows_fit_and_clips_never_overlap(durations):
    placements = pack(durations, OPTIONS)
    assert [p.clip for p in placements] == list(range(len(durations)))
    for a, b in zip(placements, placements[1:]):
        assert b.offset_s >= a.offset_s + a.duration_s + OPTIONS.gap_s - 1e-9
        assert b.window in (a.window, a.window + 1)
    for w in {p.window for p in placements}:
        members = [p for p in placements if p.window == w]
        span = members[-1].offset_s + members[-1].duration_s - members[0].offset_s
        assert span <= OPTIONS.max_window_s + 1e-9
