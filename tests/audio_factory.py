"""Write test audio in real container formats with PyAV, at test time.

Generated rather than checked in so every format is produced by the same FFmpeg that decodes
it, and so a test can make exactly the broken file it needs from a good one.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Size of the frames we hand to the encoder. Any size works: PyAV's encoder converts the
# sample format and re-chunks to the codec's own frame size (aac 1024, mp3 1152, opus 960).
_FRAME_SAMPLES = 1024

# The tones of reference_signal: below 4 kHz, so an 8 kHz file and a 16 kHz decode keep them.
REFERENCE_TONES_HZ = (300.0, 700.0, 1100.0, 2400.0)

_VIDEO_SIZE_PX = 64
_VIDEO_FPS = 5


def reference_signal(duration_s: float = 3.0, sample_rate: int = 16_000, channels: int = 1) -> np.ndarray:
    """A deterministic sum of sines under a slow amplitude envelope.

    Returns float32 of shape [channels, n_samples], peak about 0.75. The channels differ in
    phase only slightly, so a downmix to mono keeps about the same RMS.
    """
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    rows = []
    for ch in range(channels):
        tones = sum(np.sin(2 * np.pi * f * t + ch * 0.1) for f in REFERENCE_TONES_HZ)
        rows.append(0.2 * envelope * tones)
    return np.stack(rows).astype(np.float32)


def write_audio(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    container_format: str,
    codec: str,
    channels: int = 1,
    with_video: bool = False,
) -> Path:
    """Encode `samples` (float32, shape [channels, n_samples] or [n_samples]) into `path`.

    `container_format` is an FFmpeg muxer name ("wav", "flac", "mp3", "ogg", "ipod", "webm",
    "mp4", "matroska"); `codec` an encoder name ("pcm_s16le", "flac", "libmp3lame", "libopus",
    "aac"). With `with_video`, a tiny mpeg4 video track of the same length is muxed in too.
    """
    path = Path(path)
    planar = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    if planar.shape[0] != channels:
        raise ValueError(f"samples have {planar.shape[0]} channels, expected {channels}")
    layout = "mono" if channels == 1 else "stereo"

    with av.open(str(path), mode="w", format=container_format) as out:
        audio = out.add_stream(codec, rate=sample_rate, layout=layout)
        video = _add_video_stream(out) if with_video else None
        for start in range(0, planar.shape[1], _FRAME_SAMPLES):
            chunk = np.ascontiguousarray(planar[:, start : start + _FRAME_SAMPLES])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))  # flush the encoder's buffered frames
        if video is not None:
            _write_video_frames(out, video, planar.shape[1] / sample_rate)
    return path


def write_video_only(path: str | Path, duration_s: float = 3.0) -> Path:
    """An mp4 with a video track and no audio track."""
    path = Path(path)
    with av.open(str(path), mode="w", format="mp4") as out:
        _write_video_frames(out, _add_video_stream(out), duration_s)
    return path


def _add_video_stream(out):
    video = out.add_stream("mpeg4", rate=_VIDEO_FPS)
    video.width = _VIDEO_SIZE_PX
    video.height = _VIDEO_SIZE_PX
    video.pix_fmt = "yuv420p"
    return video


def _write_video_frames(out, video, duration_s: float) -> None:
    for i in range(int(round(duration_s * _VIDEO_FPS))):
        # A moving gradient, so frames are not all identical (some encoders special-case that).
        image = np.full((_VIDEO_SIZE_PX, _VIDEO_SIZE_PX, 3), (i * 20) % 256, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode(None))


def write_truncated_copy(source: str | Path, path: str | Path, keep_fraction: float) -> Path:
    """Copy the first `keep_fraction` of `source`'s bytes, like an interrupted upload or copy."""
    data = Path(source).read_bytes()
    path = Path(path)
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path
