"""Recordings past the duration limit, and float audio holding NaN, are refused without
decoding (or keeping) more than the limit allows."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from workers.settings import Settings
from workers.transcript import audio as audio_module
from workers.transcript.audio import decode_audio, probe_audio
from workers.transcript.errors import AudioDecodeError, AudioTooLong, format_duration
from workers.transcript.types import SAMPLE_RATE_HZ

DAY_S = 24 * 3600


def silent_flac(path, seconds: float, rate: int):
    sf.write(path, np.zeros(int(seconds * rate), dtype=np.int16), samplerate=rate, subtype="PCM_16")
    return path


def test_a_day_in_a_few_hundred_bytes_is_refused_at_once(tmp_path):
    # FLAC at 1 Hz: 24 hours of audio in under 2 kB, which would decode to 16 kHz.
    day = silent_flac(tmp_path / "dygn.flac", DAY_S, 1)
    assert day.stat().st_size < 2000
    for check in (probe_audio, decode_audio):
        with pytest.raises(AudioDecodeError, match="sample rate of 1 Hz is too low for speech"):
            check(day, 12 * 3600)


def test_a_declared_length_past_the_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    long_file = silent_flac(tmp_path / "lång.flac", 600, 4000)
    decoded: list[int] = []
    monkeypatch.setattr(audio_module, "_decoded_chunks", lambda *args: decoded.append(1) or iter(()))
    with pytest.raises(AudioTooLong, match="lasts 10 min 00 s; the limit is 5 min 00 s") as refused:
        probe_audio(long_file, 300)
    assert refused.value.code == "audio_too_long" and refused.value.duration_s == pytest.approx(600)
    with pytest.raises(AudioTooLong):
        decode_audio(long_file, 300)
    assert decoded == [], "nothing was decoded"


def test_an_undeclared_length_is_cut_off_at_the_limit_with_memory_bounded_by_it(tmp_path, monkeypatch):
    # A container that declares nothing: the limit must hold while decoding.
    long_file = silent_flac(tmp_path / "lång.flac", 1800, 4000)
    monkeypatch.setattr(audio_module, "_declared_duration_s", lambda container, stream: None)
    limit_s = 120.0
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong, match="the limit is 2 min 00 s"):
            decode_audio(long_file, limit_s)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit_bytes = limit_s * SAMPLE_RATE_HZ * 4  # float32
    assert peak < 3 * limit_bytes, f"peak {peak / 1e6:.0f} MB for a {limit_bytes / 1e6:.0f} MB limit"
    with pytest.raises(AudioTooLong):
        probe_audio(long_file, limit_s)


def test_telephone_audio_is_not_too_low(tmp_path):
    assert decode_audio(silent_flac(tmp_path / "telefon.flac", 2, 8000)).duration_s == pytest.approx(2.0)


def test_a_recording_within_the_limit_decodes_whole(tmp_path):
    path = tmp_path / "kort.wav"
    sf.write(path, np.zeros(3 * SAMPLE_RATE_HZ, dtype=np.float32), SAMPLE_RATE_HZ, subtype="FLOAT")
    assert decode_audio(path, 3.5).duration_s == pytest.approx(3.0)
    assert probe_audio(path, 3.5) == pytest.approx(3.0)
    assert decode_audio(path).samples.dtype == np.float32


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_audio_with_non_finite_samples_is_refused(tmp_path, bad):
    samples = np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)
    samples[100:200] = bad
    path = tmp_path / "trasig.wav"
    sf.write(path, samples, SAMPLE_RATE_HZ, subtype="FLOAT")
    for check in (decode_audio, probe_audio):
        with pytest.raises(AudioDecodeError, match="non-finite"):
            check(path)


def test_the_limit_is_a_setting_of_twelve_hours_by_default(tmp_path):
    assert Settings(data_dir=tmp_path).max_audio_hours == 12.0


def test_durations_read_well():
    assert (format_duration(8.46), format_duration(750), format_duration(3900)) == ("8.5 s", "12 min 30 s", "1 h 05 min")
