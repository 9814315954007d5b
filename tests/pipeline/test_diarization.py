"""The real offline diarization pipeline (pyannote segmentation-3.0 + CAM++) on the fixtures.

DER gates per fixture set (2, 3 and 4 synthetic voices), measured with the current defaults on
a 2-core CPU and given a margin (see docs/benchmarks.md, diarization). The conversations are
SYNTHETIC speech (espeak-ng voices), not human voices.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workers.evaluation.diarization import diarization_error, read_rttm
from workers.pipeline.diarize import DiarizeOptions, diarize
from workers.pipeline.run import DiarizationStep, progress_by_stage, transcribe_file
from workers.transcript.audio import decode_audio

pytestmark = pytest.mark.diarization

# Fixture set -> (mean DER bound, bound per recording). Measured: 2 voices 0.0006 and 0.082
# (the stereo phone call), 3 voices 0.191 (two of the voices are found as one), 4 voices 0.260.
DER_BOUNDS = {2: (0.12, 0.15), 3: (0.25, 0.25), 4: (0.32, 0.32)}


@pytest.fixture(scope="module")
def results(offline_diarizer, conversation_entries):
    """Every conversation diarized once with no speaker count given: entry id -> (entry, Diarization)."""
    return {e["id"]: (e, diarize(offline_diarizer, decode_audio(e["path"]))) for e in conversation_entries}


def test_there_are_fixtures_for_two_three_and_four_voices_with_short_turns(conversation_entries):
    assert {e["num_speakers"] for e in conversation_entries} == {2, 3, 4}
    assert all(e["synthetic"] and e["short_turns"] > 0 for e in conversation_entries)


@pytest.mark.parametrize("num_speakers", sorted(DER_BOUNDS))
def test_der_per_fixture_set_stays_within_its_measured_bound(results, num_speakers):
    mean_bound, each_bound = DER_BOUNDS[num_speakers]
    scores = {}
    for entry, found in results.values():
        if entry["num_speakers"] == num_speakers:
            scores[entry["id"]] = diarization_error(read_rttm(entry["rttm_path"]), found.turns).der
    assert scores, f"no fixture with {num_speakers} voices"
    assert all(der <= each_bound for der in scores.values()), scores
    assert sum(scores.values()) / len(scores) <= mean_bound, scores


def test_the_two_and_four_voice_conversations_find_their_number_of_speakers(results):
    for entry, found in results.values():
        if entry["num_speakers"] in (2, 4):
            assert len(found.speakers) == entry["num_speakers"], entry["id"]


def test_turns_are_exclusive_sorted_inside_the_audio_and_labelled_in_order(results):
    for entry, found in results.values():
        duration = entry["duration_s"]
        for earlier, later in zip(found.turns, found.turns[1:]):
            assert earlier.end_s <= later.start_s, entry["id"]
        assert all(0.0 <= t.start_s < t.end_s <= duration for t in found.turns)
        first_seen = list(dict.fromkeys(t.speaker for t in found.turns))
        assert first_seen == [f"Talare {i}" for i in range(1, len(first_seen) + 1)]
        assert {s.id for s in found.speakers} == set(first_seen)


def test_a_given_number_of_speakers_is_respected(offline_diarizer, conversation_entries):
    entry = next(e for e in conversation_entries if e["num_speakers"] == 3)
    found = diarize(offline_diarizer, decode_audio(entry["path"]), DiarizeOptions(num_speakers=3))
    assert len(found.speakers) == 3
    bounded = diarize(offline_diarizer, decode_audio(entry["path"]), DiarizeOptions(max_speakers=1))
    assert len(bounded.speakers) == 1


def test_every_real_single_speaker_clip_is_one_speaker(offline_diarizer, real_speech_entries):
    assert len(real_speech_entries) == 8
    for entry in real_speech_entries:
        found = diarize(offline_diarizer, decode_audio(entry["path"]))
        assert len(found.speakers) == 1, (entry["id"], found.speakers)


def test_progress_rises_to_one_and_the_audio_is_not_modified(offline_diarizer, conversation_entries):
    audio = decode_audio(conversation_entries[0]["path"])
    before = audio.samples.copy()
    reported: list[float] = []
    diarize(offline_diarizer, audio, on_progress=reported.append)
    assert reported and reported[-1] == 1.0
    assert all(a <= b for a, b in zip(reported, reported[1:]))
    assert np.array_equal(audio.samples, before)


def test_telemetry_is_off_even_when_the_environment_asks_for_it():
    # A fresh process, so pyannote's telemetry module reads the environment at its import.
    code = (
        "from workers.pipeline.diarization_model import load_diarizer, resolve_diarizer\n"
        "load_diarizer(resolve_diarizer('pyannote-offline'), device='cpu')\n"
        "from pyannote.audio.telemetry.metrics import is_metrics_enabled\n"
        "print('enabled' if is_metrics_enabled() else 'disabled')\n"
    )
    env = {**os.environ, "PYANNOTE_METRICS_ENABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "disabled"


@pytest.mark.model
def test_recognition_and_diarization_give_every_word_one_speaker(offline_model, offline_diarizer, conversation_entries):
    entry = next(e for e in conversation_entries if e["id"] == "conv2_samtal")
    stages: list[str] = []
    progress: list[float] = []
    overall = progress_by_stage(progress.append, diarizing=True)

    def on_stage(name: str):
        stages.append(name)
        return overall(name)

    transcript = transcribe_file(offline_model, entry["path"], diarization=DiarizationStep(offline_diarizer), on_stage=on_stage)
    assert stages == ["decode", "transcribe", "diarize"]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert transcript.diarization_model == "pyannote-offline"
    assert [s.id for s in transcript.speakers] == ["Talare 1", "Talare 2"]
    assert transcript.words and all(w.speaker in ("Talare 1", "Talare 2") for w in transcript.words)
    for i, segment in enumerate(transcript.segments):
        assert segment.id == i
        assert {w.speaker for w in segment.words} == {segment.speaker}
        assert all(segment.start_s <= w.start_s and w.end_s <= segment.end_s for w in segment.words)
    # The operator greets first; the caller answers: both voices speak in the transcript.
    assert transcript.segments[0].speaker == "Talare 1"
    assert len({s.speaker for s in transcript.segments}) == 2
    assert {"transcribe", "diarize"} <= set(transcript.timings_s)


def test_campplus_embeds_repeated_chunks_as_if_each_were_embedded_alone():
    import torch

    from workers.pipeline.campplus_embedding import CamPlusPlusEmbedding

    model = CamPlusPlusEmbedding()
    generator = torch.Generator().manual_seed(3)
    a, b = (0.1 * torch.randn(1, 1, 32000, generator=generator) for _ in range(2))
    batch = torch.cat([a, a, b, a])  # pyannote sends a chunk once per local speaker
    weights = torch.rand(4, 200, generator=generator)
    with torch.inference_mode():
        together = model(batch, weights=weights)
        alone = torch.cat([model(batch[i : i + 1], weights=weights[i : i + 1]) for i in range(4)])
    assert together.shape == (4, 192)
    assert torch.allclose(together, alone, atol=1e-4)
    # Different speaker activity on the same chunk gives a different embedding.
    assert not torch.allclose(together[0], together[1], atol=1e-3)


def test_silence_has_no_speakers(offline_diarizer):
    from workers.transcript.types import DecodedAudio

    found = diarize(offline_diarizer, DecodedAudio(np.zeros(16000 * 5, dtype=np.float32), "tystnad.wav"))
    assert found.turns == () and found.speakers == ()
