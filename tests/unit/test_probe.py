"""probe_audio: the API's upload check, cheap for long files but still catching cut-off ones."""

import pytest

from tests.audio_factory import reference_signal, write_audio
from workers.transcript import audio as audio_module
from workers.transcript.audio import probe_audio
from workers.transcript.errors import AudioDecodeError

FORMATS = [
    ("mp3", "libmp3lame", "mp3", 44100),
    ("flac", "flac", "flac", 44100),
    ("wav", "pcm_s16le", "wav", 44100),
    ("webm", "libopus", "webm", 48000),
]


@pytest.fixture(params=[0, 10**12], ids=["seek-probe", "full-decode"])
def full_decode_limit(request, monkeypatch):
    monkeypatch.setattr(audio_module, "PROBE_FULL_DECODE_MAX_BYTES", request.param)


@pytest.mark.parametrize(("container", "codec", "ext", "rate"), FORMATS)
def test_whole_files_pass_and_cut_ones_are_refused(tmp_path, full_decode_limit, container, codec, ext, rate):
    whole = write_audio(tmp_path / f"whole.{ext}", reference_signal(20.0, rate, 2), rate, container, codec, channels=2)
    assert probe_audio(whole) == pytest.approx(20.0, abs=0.1)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.4)])
    with pytest.raises(AudioDecodeError, match="truncated"):
        probe_audio(cut)


def test_not_audio_and_empty_are_refused(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("inte ljud")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    for path, reason in [(text, "not a recognised"), (empty, "empty"), (tmp_path / "missing.wav", "no such file")]:
        with pytest.raises(AudioDecodeError, match=reason):
            probe_audio(path)
