"""Decode any audio or video file to 16 kHz mono float32.

PyAV bundles FFmpeg, so wav, flac, mp3, ogg/opus, m4a/aac, webm and the audio track of mp4/mkv
decode without a system ffmpeg. Every failure becomes an AudioDecodeError that names the file
and the reason, because the edges turn it into a 4xx or a one-line CLI message.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

import av
import numpy as np

from .errors import AudioDecodeError
from .types import SAMPLE_RATE_HZ, DecodedAudio

logger = logging.getLogger(__name__)

# A file whose container declares a duration but decodes to clearly less was cut short
# (an interrupted upload or copy). Encoders pad and containers round, so allow some slack.
TRUNCATION_TOLERANCE_RATIO = 0.9
TRUNCATION_TOLERANCE_S = 0.5


def decode_audio(path: str | os.PathLike) -> DecodedAudio:
    """Decode the first audio stream of `path`, downmixed and resampled to 16 kHz mono."""
    source = str(path)
    file = Path(path)
    if not file.is_file():
        raise AudioDecodeError(source, "no such file")
    if file.stat().st_size == 0:
        raise AudioDecodeError(source, "the file is empty (0 bytes)")

    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise AudioDecodeError(source, f"not a recognised audio or video format ({_ffmpeg_reason(e)})") from e

    with container:
        if not container.streams.audio:
            raise AudioDecodeError(source, "the file has no audio track")
        stream = container.streams.audio[0]
        declared_s = _declared_duration_s(container, stream)
        samples = _decode_stream(container, stream, source)

    if samples.size == 0:
        raise AudioDecodeError(source, "the audio track holds no samples (zero duration)")
    if not np.all(np.isfinite(samples)):
        raise AudioDecodeError(source, "the audio holds invalid (non-finite) samples")

    decoded_s = samples.size / SAMPLE_RATE_HZ
    if declared_s is not None and decoded_s < declared_s * TRUNCATION_TOLERANCE_RATIO - TRUNCATION_TOLERANCE_S:
        raise AudioDecodeError(
            source,
            f"the file is truncated: it declares {declared_s:.1f} s of audio "
            f"but only {decoded_s:.1f} s could be decoded",
        )
    return DecodedAudio(samples=samples, source=source)


def _decode_stream(container, stream, source: str) -> np.ndarray:
    # Resampling to float32 directly avoids an int16 round trip; chunks are concatenated
    # once at the end so peak memory is about twice the decoded audio (~460 MB per hour).
    resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE_HZ)
    chunks: list[np.ndarray] = []
    invalid_packets = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                # Damaged packets are skipped like FFmpeg does; the truncation check catches
                # files where too much is missing.
                invalid_packets += 1
                continue
            for frame in frames:
                frame.pts = None
                chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        chunks.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except av.error.FFmpegError as e:
        raise AudioDecodeError(source, f"decoding failed ({_ffmpeg_reason(e)})") from e
    finally:
        # PyAV keeps resampler buffers alive until a collection (faster-whisper issue #390).
        del resampler
        gc.collect()
    if invalid_packets:
        logger.warning("%s: skipped %d undecodable packets", source, invalid_packets)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _ffmpeg_reason(error: Exception) -> str:
    # FFmpegError's str() repeats the errno and the path; its strerror is the readable part.
    return getattr(error, "strerror", None) or str(error)


def _declared_duration_s(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def probe_duration_s(path: str | os.PathLike) -> float | None:
    """The duration a file declares, without decoding it (None when unknown or unreadable).

    Used for progress bars; decode_audio is what validates a file.
    """
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                return None
            return _declared_duration_s(container, container.streams.audio[0])
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return None
