"""Cut long recordings into pieces that bound memory.

faster-whisper computes log-mel features for its whole input at once: about 3.3 GB at peak
for 60 minutes of audio (measured). Transcribing pieces of at most ten minutes keeps that near
0.6 GB whatever the length. Cuts are placed at the quietest moment shortly before each limit,
so no word is split.
"""

from __future__ import annotations

import numpy as np

from workers.transcript.types import SAMPLE_RATE_HZ

FRAME_S = 0.02
SMOOTHING_FRAMES = 10  # 200 ms: a pause between words, not a gap inside a plosive


def piece_bounds(samples: np.ndarray, max_piece_s: float, search_window_s: float = 30.0) -> list[tuple[int, int]]:
    """[start, end) sample ranges covering `samples` in order, each at most max_piece_s long.

    samples: float32 [n_samples] at 16 kHz.
    """
    max_len = int(max_piece_s * SAMPLE_RATE_HZ)
    window = min(int(search_window_s * SAMPLE_RATE_HZ), max_len // 2)
    bounds, start = [], 0
    while len(samples) - start > max_len:
        cut = _quietest_point(samples, start + max_len - window, start + max_len)
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(samples)))
    return bounds


def _quietest_point(samples: np.ndarray, lo: int, hi: int) -> int:
    frame = int(FRAME_S * SAMPLE_RATE_HZ)
    region = samples[lo:hi]
    n_frames = len(region) // frame
    if n_frames <= SMOOTHING_FRAMES:
        return hi
    energy = np.square(region[: n_frames * frame].reshape(n_frames, frame)).mean(axis=1)
    smoothed = np.convolve(energy, np.ones(SMOOTHING_FRAMES) / SMOOTHING_FRAMES, mode="same")
    return lo + int(np.argmin(smoothed)) * frame + frame // 2
