"""Decode any audio or video file to 16 kHz mono float32.

PyAV bundles FFmpeg, so wav, flac, mp3, ogg/opus, m4a/aac, webm and the audio track of mp4/mkv
decode without a system ffmpeg. Every failure becomes an AudioDecodeError that names the file
and the reason, because the edges turn it into a 4xx or a one-line CLI message.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import av
import numpy as np
import numpy.typing as npt

from workers.transcript.errors import AudioDecodeError, AudioTooLong
from workers.transcript.types import SAMPLE_RATE_HZ, DecodedAudio

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer

logger = logging.getLogger(__name__)

# A file whose container declares a duration but decodes to clearly less was cut short
# (an interrupted upload or copy). Encoders pad and containers round, so allow some slack.
TRUNCATION_TOLERANCE_RATIO = 0.9
TRUNCATION_TOLERANCE_S = 0.5
# Below this no speech is left to hear, and resampling to 16 kHz multiplies every frame: a
# FLAC frame of 4096 samples at 1 Hz became 65 million samples (over 500 MB) at once. At 4 kHz
# a frame grows at most fourfold. Telephone audio (8 kHz) is well above it.
MIN_SAMPLE_RATE_HZ = 4000


def decode_audio(path: str | os.PathLike[str], max_duration_s: float | None = None) -> DecodedAudio:
    """Decode the first audio stream of `path`, downmixed and resampled to 16 kHz mono.

    Past `max_duration_s` (declared by the container, or reached while decoding) it raises
    AudioTooLong instead of going on: memory stays bounded by the limit, whatever the file.
    """
    buffer = _decode_into(path, max_duration_s, _SampleBuffer)
    return DecodedAudio(samples=buffer.samples(), source=str(path))


class _Sink(Protocol):
    """Where _decode_into puts the decoded chunks; `size` counts the samples so far."""

    size: int

    def append(self, chunk: npt.NDArray[np.float32]) -> None: ...


_SinkT = TypeVar("_SinkT", bound=_Sink)


def _decode_into(
    path: str | os.PathLike[str], max_duration_s: float | None, make_sink: Callable[[float | None], _SinkT]
) -> _SinkT:
    """Decode `path` into a sink (_SampleBuffer keeps the samples, _SampleCounter only counts
    them) with every check decode_audio makes; returns the sink."""
    source = str(path)
    _checked_size(Path(path), source)
    with _open_audio(Path(path), source) as (container, stream, declared_s):
        _check_declared_length(source, declared_s, max_duration_s)
        sink = make_sink(declared_s)
        for chunk in _decoded_chunks(container, stream, source):
            sink.append(chunk)
            if max_duration_s is not None and sink.size > max_duration_s * SAMPLE_RATE_HZ:
                raise AudioTooLong(source, max_duration_s)
    if sink.size == 0:
        raise AudioDecodeError(source, "the audio track holds no samples (zero duration)")
    _check_not_truncated(source, declared_s, sink.size / SAMPLE_RATE_HZ)
    return sink


def _check_declared_length(source: str, declared_s: float | None, max_duration_s: float | None) -> None:
    if max_duration_s is not None and declared_s is not None and declared_s > max_duration_s:
        raise AudioTooLong(source, max_duration_s, declared_s)


def _check_not_truncated(source: str, declared_s: float | None, decoded_s: float) -> None:
    if declared_s is not None and decoded_s < declared_s * TRUNCATION_TOLERANCE_RATIO - TRUNCATION_TOLERANCE_S:
        raise AudioDecodeError(
            source,
            f"the file is truncated: it declares {declared_s:.1f} s of audio but only {decoded_s:.1f} s could be decoded",
        )


class _SampleCounter:
    """A sink that keeps only the number of samples (for the probe: constant memory)."""

    def __init__(self, declared_s: float | None):
        self.size = 0

    def append(self, chunk: npt.NDArray[np.float32]) -> None:
        self.size += chunk.size


class _SampleBuffer:
    """Decoded samples gathered in one preallocated float32 array, sized from the declared
    duration and doubled when a file holds more, so peak memory is about the audio itself
    (a list of chunks concatenated at the end needs twice that: ~460 MB per hour)."""

    def __init__(self, declared_s: float | None):
        expected = int((declared_s or 60.0) * 1.02 * SAMPLE_RATE_HZ) + SAMPLE_RATE_HZ
        self.data = np.empty(expected, dtype=np.float32)
        self.size = 0

    def append(self, chunk: npt.NDArray[np.float32]) -> None:
        needed = self.size + chunk.size
        if needed > self.data.size:
            grown = np.empty(max(needed, 2 * self.data.size), dtype=np.float32)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : needed] = chunk
        self.size = needed

    def samples(self) -> npt.NDArray[np.float32]:
        """The samples, shape [n]; copied only when most of the buffer went unused."""
        if self.size < 0.9 * self.data.size:
            return self.data[: self.size].copy()
        return self.data[: self.size]


def _checked_size(file: Path, source: str) -> int:
    if not file.is_file():
        raise AudioDecodeError(source, "no such file")
    size = file.stat().st_size
    if size == 0:
        raise AudioDecodeError(source, "the file is empty (0 bytes)")
    return size


@contextlib.contextmanager
def _open_audio(file: Path, source: str) -> Iterator[tuple[InputContainer, AudioStream, float | None]]:
    """Yield (container, its first audio stream, the duration it declares or None)."""
    try:
        container = av.open(source, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise AudioDecodeError(source, f"not a recognised audio or video format ({_ffmpeg_reason(e)})") from e
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(source, "the file has no audio track")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.sample_rate
        if rate and rate < MIN_SAMPLE_RATE_HZ:
            raise AudioDecodeError(
                source, f"the sample rate of {rate} Hz is too low for speech (at least {MIN_SAMPLE_RATE_HZ} Hz)"
            )
        declared_s = _declared_duration_s(container, stream)
        if container.format.name == "wav":
            declared_s = _wav_declared_duration_s(file) or declared_s
        yield container, stream, declared_s


def _decoded_chunks(container: InputContainer, stream: AudioStream, source: str) -> Iterator[npt.NDArray[np.float32]]:
    """The stream as float32 chunks of 16 kHz mono samples, shape [n] each, as they decode."""
    # Resample to s32, not flt: FFmpeg normalises its downmix matrix only for integer output,
    # so flt turned stereo into 0.707*(L+R), 3 dB louder than the source and beyond [-1, 1].
    # s32 gives (L+R)/2 like faster-whisper's s16 path without its 16-bit quantisation.
    resampler = av.audio.resampler.AudioResampler(format="s32", layout="mono", rate=SAMPLE_RATE_HZ)
    invalid_packets = 0
    decoded_samples = 0
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
                _check_finite(frame, source)
                frame.pts = None
                for resampled in resampler.resample(frame):
                    decoded_samples += resampled.samples
                    yield _s32_to_float32(resampled)
        for resampled in resampler.resample(None):
            decoded_samples += resampled.samples
            yield _s32_to_float32(resampled)
    except av.error.FFmpegError as e:
        raise AudioDecodeError(source, f"decoding failed ({_ffmpeg_reason(e)})") from e
    finally:
        # PyAV keeps resampler buffers alive until a collection (faster-whisper issue #390): worth
        # a full collection (about 0.15 s in a process with the ML stack loaded) after a long
        # recording, not after every short clip, whose buffers the next automatic one frees.
        del resampler
        if decoded_samples > GC_AFTER_DECODED_S * SAMPLE_RATE_HZ:
            gc.collect()
        if invalid_packets:
            logger.warning("%s: skipped %d undecodable packets", source, invalid_packets)


GC_AFTER_DECODED_S = 60.0

# Sample formats that can hold NaN or infinity; the conversion to integers would hide them.
_FLOAT_FORMATS = frozenset({"flt", "fltp", "dbl", "dblp"})


def _check_finite(frame: AudioFrame, source: str) -> None:
    if frame.format.name in _FLOAT_FORMATS and not np.all(np.isfinite(frame.to_ndarray())):
        raise AudioDecodeError(source, "the audio holds invalid (non-finite) samples")


def _s32_to_float32(frame: AudioFrame) -> npt.NDArray[np.float32]:
    """A mono s32 frame as float32 samples in [-1, 1], shape [n_samples]."""
    return frame.to_ndarray().reshape(-1).astype(np.float32) * np.float32(1.0 / 2**31)


def _ffmpeg_reason(error: Exception) -> str:
    # FFmpegError's str() repeats the errno and the path; its strerror is the readable part.
    return getattr(error, "strerror", None) or str(error)


def _declared_duration_s(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base  # microseconds (av.time_base per second)
    return None


def _wav_declared_duration_s(file: Path) -> float | None:
    """The duration a RIFF/WAVE header declares: data chunk size / average bytes per second.

    FFmpeg clamps the data size to the bytes present, so a WAV cut short by an interrupted
    copy would otherwise pass as a complete, shorter recording. None when the header does not
    say: streaming writers leave the size 0 or 0xFFFFFFFF, and RF64 keeps it elsewhere.
    """
    with file.open("rb") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
            return None
        avg_bytes_per_s: int = 0
        chunk_id: bytes
        size: int  # bytes in the chunk, after its 8-byte header
        while len(header := f.read(8)) == 8:
            chunk_id, size = struct.unpack("<4sI", header)
            if chunk_id == b"data":
                if not avg_bytes_per_s or size in (0, 0xFFFFFFFF):
                    return None
                return size / avg_bytes_per_s
            if chunk_id == b"fmt " and size >= 12:
                fmt = f.read(12)
                if len(fmt) < 12:
                    return None
                (avg_bytes_per_s,) = struct.unpack_from("<I", fmt, 8)
                size -= 12
            f.seek(size + size % 2, os.SEEK_CUR)  # chunks are padded to an even length
    return None


def probe_duration_s(path: str | os.PathLike[str]) -> float | None:
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


# Small files are decoded whole: exact, and at most a second or two of work.
PROBE_FULL_DECODE_MAX_BYTES = 8 * 1024 * 1024
# Enough packets to get past container headers and prove the codec really decodes.
PROBE_MAX_PACKETS = 200
# The probe checks that audio this close to the declared end decodes.
PROBE_END_MARGIN_S = 1.0
# Seeks land on the nearest index point before the target; indexes are at most seconds apart.
PROBE_SEEK_SLACK_S = 10.0


def probe_audio(path: str | os.PathLike[str], max_duration_s: float | None = None) -> float | None:
    """Check cheaply that `path` holds decodable audio; return its duration if known.

    Small files are decoded whole but only counted, never kept: exact, constant memory, and at
    most `max_duration_s` of decoding. Larger ones: the container is opened, the first frames
    decoded and a frame near the declared end sought, so an upload can be refused (415) before
    a job is queued without decoding an hour of audio in the API. A declared duration past
    `max_duration_s` is refused at once (AudioTooLong). Raises AudioDecodeError like
    decode_audio does; the worker's full decode checks the limit again.
    """
    source = str(path)
    if _checked_size(Path(path), source) <= PROBE_FULL_DECODE_MAX_BYTES:
        return _decode_into(path, max_duration_s, _SampleCounter).size / SAMPLE_RATE_HZ
    with _open_audio(Path(path), source) as (container, stream, declared_s):
        _check_declared_length(source, declared_s, max_duration_s)
        try:
            if not _decodes_a_frame_from(container, stream, 0.0):
                raise AudioDecodeError(source, "the audio track holds no samples (zero duration)")
            if (
                declared_s
                and declared_s > 2 * PROBE_END_MARGIN_S
                and not _reaches(container, stream, declared_s - PROBE_END_MARGIN_S)
            ):
                raise AudioDecodeError(source, f"the file is truncated: it declares {declared_s:.1f} s of audio but ends early")
        except av.error.FFmpegError as e:
            raise AudioDecodeError(source, f"decoding failed ({_ffmpeg_reason(e)})") from e
    return declared_s


def _decodes_a_frame_from(container: InputContainer, stream: AudioStream, min_time_s: float) -> bool:
    """Whether a packet at or after `min_time_s` (within a few hundred packets) decodes."""
    for packet_index, packet in enumerate(container.demux(stream)):
        if packet_index >= PROBE_MAX_PACKETS:
            return False
        # time_base is not None when min_time_s > 0: only _reaches passes that, after dividing by it.
        if packet.size == 0 or (min_time_s > 0 and (packet.pts is None or packet.pts * stream.time_base < min_time_s)):  # type: ignore[operator]
            continue
        try:
            if any(frame.samples > 0 for frame in packet.decode()):
                return True
        except av.error.InvalidDataError:
            continue
    return False


def _reaches(container: InputContainer, stream: AudioStream, time_s: float) -> bool:
    """Whether audio near `time_s` can be decoded: a cut-short file has nothing there.

    Seeking goes by the container's index or byte offsets, so this costs a few packets, not
    the whole file. Containers that cannot seek are given the benefit of the doubt; the worker's
    full decode still catches them.
    """
    try:
        # A stream without a time base raises TypeError here: caught, like a failed seek.
        container.seek(int(time_s / stream.time_base), stream=stream, any_frame=False, backward=True)  # type: ignore[operator]
    except (av.error.FFmpegError, OverflowError, ZeroDivisionError, TypeError):
        return True
    # A seek past the end of a cut file can silently leave the demuxer where it was, so the
    # decoded packet must really lie near the target.
    return _decodes_a_frame_from(container, stream, time_s - PROBE_SEEK_SLACK_S)
