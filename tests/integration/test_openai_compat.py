"""POST /v1/audio/transcriptions driven by the official `openai` client, as tools use it."""

from __future__ import annotations

import openai
import pytest

from workers.evaluation.scoring import error_rates

pytestmark = [pytest.mark.integration, pytest.mark.model]


@pytest.fixture(scope="module")
def client(stack, api_key):
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=api_key, max_retries=0, timeout=300)


def test_json_and_text(client, real_speech_entries):
    entry = real_speech_entries[1]
    with open(entry["path"], "rb") as f:
        result = client.audio.transcriptions.create(model="whisper-1", file=f, language="sv")
    assert error_rates([entry["text"]], [result.text]).wer <= 0.5
    with open(entry["path"], "rb") as f:
        text = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="text")
    assert text.strip() == result.text


def test_verbose_json_with_word_and_segment_timestamps(client, real_speech_entries):
    entry = real_speech_entries[2]
    with open(entry["path"], "rb") as f:
        result = client.audio.transcriptions.create(
            model="whisper-1",
            file=f,
            language="sv",
            prompt="Husläkare.",
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    # OpenAI names the language in full ("swedish"), as its own verbose_json does.
    assert result.language == "swedish" and result.duration == pytest.approx(entry["duration_s"], abs=0.05)
    assert result.words and result.segments
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration
    assert " ".join(s.text for s in result.segments) == result.text


def test_subtitles(client, real_speech_entries):
    with open(real_speech_entries[3]["path"], "rb") as f:
        vtt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="vtt")
    assert vtt.startswith("WEBVTT")
    with open(real_speech_entries[3]["path"], "rb") as f:
        srt = client.audio.transcriptions.create(model="whisper-1", file=f, response_format="srt")
    assert srt.startswith("1\n00:00:")


def test_errors_come_back_as_openai_errors(client, tmp_path, real_speech_entries):
    text = tmp_path / "inte-ljud.mp3"
    text.write_text("hej")
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=text.open("rb"))
    assert caught.value.status_code == 415 and "not a recognised audio" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="not offered here"):
        client.audio.transcriptions.create(model="kb-whisper-large", file=real_speech_entries[0]["path"].open("rb"))
    with pytest.raises(openai.BadRequestError, match="temperature"):
        client.audio.transcriptions.create(model="whisper-1", file=real_speech_entries[0]["path"].open("rb"), temperature=0.7)
