"""The real offline Whisper model on the fixtures: the guarantees the pipeline promises."""

import numpy as np
import pytest

from workers.evaluation.normalize import normalize_swedish
from workers.pipeline.batch import transcribe_many
from workers.pipeline.run import transcribe_file
from workers.pipeline.transcribe import TranscribeOptions, transcribe
from workers.transcript.audio import decode_audio
from workers.transcript.types import DecodedAudio

pytestmark = pytest.mark.model


def assert_invariants(transcript, duration_s):
    assert transcript.duration_s == pytest.approx(duration_s, abs=0.001)
    previous_end = 0.0
    for i, segment in enumerate(transcript.segments):
        assert segment.id == i and segment.words
        for word in segment.words:
            assert previous_end <= word.start_s <= word.end_s <= transcript.duration_s
            assert segment.start_s <= word.start_s and word.end_s <= segment.end_s
            assert 0.0 <= word.probability <= 1.0 and word.text.strip()
            assert word.speaker is None
            previous_end = word.end_s


def non_speech(entries):
    return [e for e in entries if not e.get("expect_words", True)]


def test_silence_noise_and_tone_yield_no_words(offline_model, fixture_entries):
    entries = non_speech(fixture_entries)
    assert {e["condition"] for e in entries} == {"silence", "noise_only", "tone_only"}
    for entry in entries:
        transcript = transcribe_file(offline_model, entry["path"])
        assert transcript.words == (), f"{entry['id']}: {transcript.text!r}"


def test_without_vad_the_guards_still_keep_silence_empty(offline_model, fixture_entries):
    silence = next(e for e in fixture_entries if e["condition"] == "silence")
    transcript = transcribe(offline_model, decode_audio(silence["path"]), TranscribeOptions(vad=None))
    assert transcript.words == (), transcript.text


def test_real_swedish_speech_keeps_every_invariant(offline_model, real_speech_entries):
    entry = real_speech_entries[0]
    audio = decode_audio(entry["path"])
    progress = []
    transcript = transcribe(offline_model, audio, on_progress=progress.append)
    assert transcript.language == "sv"
    assert transcript.model.id == "whisper-base-offline" and transcript.model.compute_type == "int8"
    assert_invariants(transcript, audio.duration_s)
    assert len(transcript.words) >= 5
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_language_is_detected_when_not_given(offline_model, real_speech_entries):
    transcript = transcribe(offline_model, decode_audio(real_speech_entries[2]["path"]), TranscribeOptions(language=None))
    assert transcript.language == "sv" and transcript.language_probability > 0.5


def test_batched_inference_on_a_longer_recording(offline_model, real_speech_entries):
    # ~45 s of real speech with pauses: more than one 30 s window, decoded as a batch.
    pause = np.zeros(16_000, dtype=np.float32)
    parts, reference = [], []
    for entry in real_speech_entries[:6]:
        parts += [decode_audio(entry["path"]).samples, pause]
        reference.append(entry["text"])
    audio = DecodedAudio(samples=np.concatenate(parts), source="concatenated")
    assert audio.duration_s > 30
    transcript = transcribe(offline_model, audio, TranscribeOptions(batch_size=4))
    assert_invariants(transcript, audio.duration_s)
    import jiwer

    wer = jiwer.wer(normalize_swedish(" ".join(reference)), normalize_swedish(transcript.text))
    assert wer <= 0.5, transcript.text


def test_many_short_recordings_in_one_batch(offline_model, real_speech_entries, fixture_entries):
    entries = [*real_speech_entries[:4], *non_speech(fixture_entries), real_speech_entries[4]]
    audios = [decode_audio(e["path"]) for e in entries]
    progress = []
    transcripts = transcribe_many(offline_model, audios, on_progress=progress.append)
    assert len(transcripts) == len(audios)
    for entry, audio, transcript in zip(entries, audios, transcripts):
        assert_invariants(transcript, audio.duration_s)
        assert bool(transcript.words) == entry.get("expect_words", True), f"{entry['id']}: {transcript.text!r}"
    # Words went back to the clip they were said in: each transcript shares more words with
    # its own reference than with any other clip's.
    speech = [(e, t) for e, t in zip(entries, transcripts) if e.get("expect_words", True)]
    for entry, transcript in speech:
        said = set(normalize_swedish(transcript.text).split())
        overlaps = {e["id"]: len(said & set(normalize_swedish(e["text"]).split())) for e, _ in speech}
        assert max(overlaps, key=overlaps.get) == entry["id"], (entry["id"], overlaps)
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_hotwords_and_prompt_steer_spelling(offline_model, fixture_entries):
    entry = next(e for e in fixture_entries if "Lindqvist" in e["text"])
    audio = decode_audio(entry["path"])
    plain = transcribe(offline_model, audio)
    steered = transcribe(
        offline_model, audio, TranscribeOptions(initial_prompt="Doktor Lindqvist på vårdcentralen.", hotwords="Lindqvist")
    )
    assert "Lindqvist" not in plain.text
    assert "Lindqvist" in steered.text, steered.text


def test_long_recordings_are_transcribed_in_pieces_without_losing_words(offline_model, real_speech_entries):
    # ~100 s of real speech cut into pieces of at most 60 s: the words on both sides of the
    # cut survive, times are offset correctly and the invariants hold across pieces.
    pause = np.zeros(8_000, dtype=np.float32)
    parts, reference = [], []
    for entry in real_speech_entries * 2:
        parts += [decode_audio(entry["path"]).samples, pause]
        reference.append(entry["text"])
    audio = DecodedAudio(samples=np.concatenate(parts), source="concatenated")
    assert audio.duration_s > 90
    transcript = transcribe(offline_model, audio, TranscribeOptions(max_piece_s=60))
    assert_invariants(transcript, audio.duration_s)
    assert transcript.words[-1].end_s > 80
    import jiwer

    wer = jiwer.wer(normalize_swedish(" ".join(reference)), normalize_swedish(transcript.text))
    assert wer <= 0.45, transcript.text


def test_the_model_loads_once_per_process(offline_model, model_cache):
    from workers.pipeline.asr_model import DeviceOptions, load_model
    from workers.pipeline.model_registry import resolve_model

    again = load_model(resolve_model("whisper-base-offline", cache_dir=model_cache), DeviceOptions(device="cpu", cpu_threads=2))
    assert again is offline_model
