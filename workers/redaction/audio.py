"""A copy of a recording with a tone over every redacted span (job option redact_audio).

The copy is made from the decoded audio the pipeline uses (16 kHz mono): enough to listen to a
redacted conversation, and nothing of the original's other channels or quality survives, which
is the point. Each span is widened by SPAN_PADDING_S on both sides, because word timings from
recognition are approximate (tens of milliseconds) and a clipped first or last syllable of a
personnummer would still be heard.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from workers.redaction.entities import EntitySpan

TONE_HZ = 1000.0
# -12 dBFS: clearly audible and clearly not speech, not painful over headphones.
TONE_AMPLITUDE = 0.25
SPAN_PADDING_S = 0.15


def tone_over_spans(
    samples: npt.NDArray[np.float32], sample_rate_hz: int, spans: Iterable[tuple[float, float]]
) -> npt.NDArray[np.float32]:
    """A new array (shape [n_samples], float32) with each (start_s, end_s) span, widened by
    SPAN_PADDING_S, replaced by a sine tone; the input is not changed."""
    out = samples.astype(np.float32, copy=True)
    for start_s, end_s in spans:
        first = max(0, int((start_s - SPAN_PADDING_S) * sample_rate_hz))
        end = min(len(out), int(np.ceil((end_s + SPAN_PADDING_S) * sample_rate_hz)))
        if end <= first:
            continue
        t = np.arange(first, end, dtype=np.float64) / sample_rate_hz
        out[first:end] = (TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    return out


def entity_times(spans: Iterable[EntitySpan]) -> list[tuple[float, float]]:
    return [(span.start_s, span.end_s) for span in spans]


def flac_bytes(samples: npt.NDArray[np.float32], sample_rate_hz: int) -> bytes:
    """Mono 16-bit FLAC of `samples` (range [-1, 1]), encoded by PyAV's FFmpeg."""
    import av

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=sample_rate_hz, layout="mono")
        frame_size = 4096
        for start in range(0, pcm.shape[1], frame_size):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + frame_size]), format="s16", layout="mono"
            )
            frame.sample_rate = sample_rate_hz
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
