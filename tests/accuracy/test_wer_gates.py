"""Accuracy gates with the offline model: a regression in decoding or guards fails CI.

Bounds are the figures measured with whisper-base-offline (int8, 2 CPU threads) on
2026-11-23 plus a margin; raise the bar when accuracy improves, never loosen it silently.
Synthetic fixtures are espeak-ng speech, hard for Whisper base: their WER is near 1, so they
are gated on CER, which still moves when recognition gets worse.
"""

import pytest

from workers.evaluation.scoring import error_rates
from workers.pipeline.audio import decode_audio
from workers.pipeline.batch import transcribe_many
from workers.pipeline.transcribe import transcribe

pytestmark = [pytest.mark.accuracy, pytest.mark.model]

# measured: real speech 0.319 sequential, 0.250 packed; synthetic CER 0.461 all, 0.378 clean.
REAL_SPEECH_WER_SEQUENTIAL = 0.40
REAL_SPEECH_WER_PACKED = 0.35
SYNTHETIC_CER_ALL = 0.55
SYNTHETIC_CER_CLEAN = 0.47


def speech(entries):
    return [e for e in entries if e.get("expect_words", True)]


def test_real_speech_wer_sequential(offline_model, real_speech_entries):
    hyps = [transcribe(offline_model, decode_audio(e["path"])).text for e in real_speech_entries]
    rates = error_rates([e["text"] for e in real_speech_entries], hyps)
    assert rates.wer <= REAL_SPEECH_WER_SEQUENTIAL, (rates, hyps)


def test_real_speech_wer_packed_batch(offline_model, real_speech_entries):
    transcripts = transcribe_many(offline_model, [decode_audio(e["path"]) for e in real_speech_entries])
    rates = error_rates([e["text"] for e in real_speech_entries], [t.text for t in transcripts])
    assert rates.wer <= REAL_SPEECH_WER_PACKED, rates


def test_synthetic_fixtures_cer(offline_model, fixture_entries):
    # The first, "standard" set these bounds were measured on; the dialect-area sets have gates of their own.
    entries = [e for e in speech(fixture_entries) if e["dialect_area"] == "standard"]
    assert all(e["synthetic"] for e in entries)
    transcripts = transcribe_many(offline_model, [decode_audio(e["path"]) for e in entries])
    overall = error_rates([e["text"] for e in entries], [t.text for t in transcripts])
    clean = [(e, t) for e, t in zip(entries, transcripts) if e["condition"] == "clean"]
    clean_rates = error_rates([e["text"] for e, _ in clean], [t.text for _, t in clean])
    assert overall.cer <= SYNTHETIC_CER_ALL, overall
    assert clean_rates.cer <= SYNTHETIC_CER_CLEAN, clean_rates
