"""decode_audio: every supported format yields the same 16 kHz mono audio; every broken file
yields an AudioDecodeError that names the file and the reason, quickly."""

from __future__ import annotations

import signal
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.audio_factory import (
    REFERENCE_TONES_HZ,
    reference_signal,
    write_audio,
    write_truncated_copy,
    write_video_only,
)
from workers.transcript.audio import decode_audio, probe_duration_s
from workers.transcript.errors import AudioDecodeError
from workers.transcript.types import SAMPLE_RATE_HZ

SOURCE_DURATION_S = 3.0
# Lossless formats keep the length to the sample; mp3/aac/opus add encoder delay and padding.
LOSSLESS_DURATION_TOLERANCE_S = 0.01
LOSSY_DURATION_TOLERANCE_S = 0.1
# Lossy codecs change the level a little; a broken downmix (+3 dB) or silence would not pass.
RMS_RELATIVE_TOLERANCE = 0.3
# Share of spectral energy near the source's tones: ~1.0 when the content survived, far less
# for noise or a garbled decode.
MIN_TONE_ENERGY_FRACTION = 0.95
PER_TEST_TIME_LIMIT_S = 20


@pytest.fixture(autouse=True)
def fail_instead_of_hanging():
    # A decoder stuck in a loop must fail this file, not stall the suite. SIGALRM only fires
    # between Python bytecodes, which the packet loop in decode_audio reaches per packet.
    def on_alarm(signum, frame):
        raise TimeoutError(f"test took longer than {PER_TEST_TIME_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(PER_TEST_TIME_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Format:
    file_name: str
    container_format: str
    codec: str
    sample_rate: int
    channels: int = 1
    with_video: bool = False
    lossy: bool = False


FORMATS = [
    Format("stereo_44k.wav", "wav", "pcm_s16le", 44_100, channels=2),
    Format("mono_8k.wav", "wav", "pcm_s16le", 8_000),
    Format("mono_48k.flac", "flac", "flac", 48_000),
    Format("mono.mp3", "mp3", "libmp3lame", 44_100, lossy=True),
    Format("mono.ogg", "ogg", "libopus", 48_000, lossy=True),
    Format("mono.m4a", "ipod", "aac", 44_100, lossy=True),
    Format("mono.webm", "webm", "libopus", 48_000, lossy=True),
    Format("with_video.mp4", "mp4", "aac", 44_100, with_video=True, lossy=True),
    Format("stereo.mkv", "matroska", "aac", 44_100, channels=2, lossy=True),
]


def write_format(directory: Path, fmt: Format) -> tuple[Path, np.ndarray]:
    """Write the reference signal as `fmt`; returns the path and the source, shape [channels, n]."""
    source = reference_signal(SOURCE_DURATION_S, fmt.sample_rate, fmt.channels)
    path = write_audio(
        directory / fmt.file_name,
        source,
        fmt.sample_rate,
        fmt.container_format,
        fmt.codec,
        channels=fmt.channels,
        with_video=fmt.with_video,
    )
    return path, source


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def tone_energy_fraction(samples: np.ndarray, bandwidth_hz: float = 20.0) -> float:
    """Share of the spectral energy of 16 kHz `samples` within `bandwidth_hz` of the tones."""
    power = np.abs(np.fft.rfft(samples)) ** 2
    freqs_hz = np.fft.rfftfreq(len(samples), d=1 / SAMPLE_RATE_HZ)
    near_tone = np.zeros(freqs_hz.shape, dtype=bool)
    for tone_hz in REFERENCE_TONES_HZ:
        near_tone |= np.abs(freqs_hz - tone_hz) <= bandwidth_hz
    return float(power[near_tone].sum() / power.sum())


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.file_name)
def test_every_format_decodes_to_the_same_16k_mono_audio(tmp_path, fmt):
    path, source = write_format(tmp_path, fmt)

    decoded = decode_audio(path)

    samples = decoded.samples
    assert decoded.source == str(path)
    assert samples.dtype == np.float32
    assert samples.ndim == 1  # stereo sources are downmixed, not interleaved
    assert decoded.sample_rate_hz == SAMPLE_RATE_HZ == 16_000
    tolerance_s = LOSSY_DURATION_TOLERANCE_S if fmt.lossy else LOSSLESS_DURATION_TOLERANCE_S
    assert decoded.duration_s == pytest.approx(SOURCE_DURATION_S, abs=tolerance_s)
    assert np.all(np.isfinite(samples))
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    # The downmix averages the channels: the level matches the source's own mono mix.
    assert rms(samples) == pytest.approx(rms(source.mean(axis=0)), rel=RMS_RELATIVE_TOLERANCE)
    assert tone_energy_fraction(samples) >= MIN_TONE_ENERGY_FRACTION


def test_stereo_downmix_keeps_a_full_scale_signal_within_range(tmp_path):
    # FFmpeg's float downmix is 0.707*(L+R): a loud stereo file decoded to peaks of ~1.4.
    t = np.arange(int(SOURCE_DURATION_S * 44_100)) / 44_100
    tone = 0.99 * np.sin(2 * np.pi * 440.0 * t)
    path = write_audio(tmp_path / "loud.wav", np.stack([tone, tone]), 44_100, "wav", "pcm_s16le", channels=2)

    samples = decode_audio(path).samples

    assert samples.min() >= -1.0 and samples.max() <= 1.0
    assert np.abs(samples).max() == pytest.approx(0.99, abs=0.02)


# Builders of broken inputs: each takes a directory and returns the path to decode.


def missing_file(directory: Path) -> Path:
    return directory / "missing.wav"


def a_directory(directory: Path) -> Path:
    folder = directory / "folder.wav"
    folder.mkdir()
    return folder


def empty_file(directory: Path) -> Path:
    path = directory / "empty.wav"
    path.touch()
    return path


def text_named_wav(directory: Path) -> Path:
    path = directory / "notes.wav"
    path.write_text("Det här är inte ljud, bara text.\n" * 50, encoding="utf-8")
    return path


def random_bytes_named_mp3(directory: Path) -> Path:
    path = directory / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(20_000))
    return path


def wav_without_samples(directory: Path) -> Path:
    # A complete 44-byte header with an empty data chunk.
    path = directory / "zero.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE_HZ)
        w.writeframes(b"")
    return path


def truncated(fmt: Format):
    """A builder for the first 40% of the bytes of a good `fmt` file."""

    def build(directory: Path) -> Path:
        good, _ = write_format(directory, fmt)
        return write_truncated_copy(good, directory / f"truncated_{fmt.file_name}", keep_fraction=0.4)

    build.__name__ = f"truncated_{fmt.file_name}"
    return build


def video_without_audio(directory: Path) -> Path:
    return write_video_only(directory / "video_only.mp4", SOURCE_DURATION_S)


WAV = Format("good.wav", "wav", "pcm_s16le", 16_000)
FLAC = Format("good.flac", "flac", "flac", 48_000)
MP3 = Format("good.mp3", "mp3", "libmp3lame", 44_100)
M4A = Format("good.m4a", "ipod", "aac", 44_100)

BROKEN_INPUTS = [
    (missing_file, "no such file"),
    (a_directory, "no such file"),
    (empty_file, "empty"),
    (text_named_wav, "not a recognised"),
    (random_bytes_named_mp3, "not a recognised"),
    (wav_without_samples, "no samples (zero duration)"),
    # FFmpeg trusts the bytes present, so decode_audio reads the data size from the header.
    (truncated(WAV), "truncated"),
    # The STREAMINFO block declares the total sample count.
    (truncated(FLAC), "truncated"),
    # LAME writes a Xing/Info frame with the frame count, so a cut mp3 declares its full length;
    # an mp3 without that header would just decode as shorter audio (see the ogg test below).
    (truncated(MP3), "truncated"),
    # The mp4 muxer writes the index (moov) at the end, so the cut file cannot even be opened.
    (truncated(M4A), "not a recognised"),
    (video_without_audio, "no audio track"),
]


@pytest.mark.parametrize(("build", "reason"), BROKEN_INPUTS, ids=lambda v: getattr(v, "__name__", None))
def test_broken_input_raises_an_error_naming_the_file_and_the_reason(tmp_path, build, reason):
    path = build(tmp_path)

    with pytest.raises(AudioDecodeError) as raised:
        decode_audio(path)

    error = raised.value
    assert error.source == str(path)
    assert reason in error.reason
    assert str(path) in str(error) and reason in str(error)
    assert error.code == "audio_decode_error"


def test_truncated_stream_without_a_declared_length_decodes_as_shorter_audio(tmp_path):
    # Ogg declares no total length (FFmpeg estimates it from the last page present), so a cut
    # file is indistinguishable from a shorter recording: decoded, not rejected.
    good, _ = write_format(tmp_path, Format("good.ogg", "ogg", "libopus", 48_000))
    cut = write_truncated_copy(good, tmp_path / "cut.ogg", keep_fraction=0.4)

    decoded = decode_audio(cut)

    assert 0.5 < decoded.duration_s < 0.8 * SOURCE_DURATION_S


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF], ids=["zero", "max"])
def test_streamed_wav_without_a_data_size_is_not_called_truncated(tmp_path, placeholder):
    # Writers that cannot seek back leave the data size as a placeholder; that is no truncation.
    good, _ = write_format(tmp_path, WAV)
    header = bytearray(good.read_bytes())
    size_at = header.index(b"data") + 4
    header[size_at : size_at + 4] = placeholder.to_bytes(4, "little")
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(header)

    assert decode_audio(streamed).duration_s == pytest.approx(SOURCE_DURATION_S, abs=0.01)


def test_probe_duration_reports_the_declared_length(tmp_path):
    path, _ = write_format(tmp_path, FLAC)

    assert probe_duration_s(path) == pytest.approx(SOURCE_DURATION_S, abs=0.01)


@pytest.mark.parametrize("build", [text_named_wav, missing_file, video_without_audio], ids=lambda b: b.__name__)
def test_probe_duration_is_none_when_unknown(tmp_path, build):
    assert probe_duration_s(build(tmp_path)) is None
