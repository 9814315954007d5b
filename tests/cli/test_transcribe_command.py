"""`swescribe transcribe` as a user runs it: a real subprocess, real files, the real model."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workers.transcript.formats import transcript_from_json

SWESCRIBE = [sys.executable, "-m", "workers.commands.cli"]


@pytest.fixture
def run(tmp_path, model_cache):
    env = {
        **os.environ,
        "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_ASR_CPU_THREADS": "2",
        "HF_HOME": str(tmp_path / "hf"),
    }

    def swescribe(*args, extra_env=None, timeout=300):
        return subprocess.run(
            [*SWESCRIBE, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**env, **(extra_env or {})},
            cwd=Path(__file__).resolve().parents[2],
        )

    return swescribe


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.model
def test_good_files_are_written_and_bad_ones_reported_one_line_each(run, tmp_path, real_speech_entries):
    good = real_speech_entries[0]["path"]
    not_audio = tmp_path / "anteckningar.wav"
    not_audio.write_text("det här är text, inte ljud")
    missing = tmp_path / "saknas.mp3"
    out = tmp_path / "out"
    result = run(
        "transcribe",
        not_audio,
        good,
        missing,
        "--format",
        "json",
        "--format",
        "srt",
        "--format",
        "vtt",
        "--format",
        "txt",
        "--format",
        "txt-plain",
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 1, result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 2 and "Traceback" not in result.stderr
    assert "anteckningar.wav" in errors[0] and "not a recognised audio" in errors[0]
    assert "saknas.mp3" in errors[1] and "no such file" in errors[1]
    assert sorted(p.name for p in out.iterdir()) == [f"{good.stem}.{ext}" for ext in ("json", "plain.txt", "srt", "txt", "vtt")]
    transcript = transcript_from_json((out / f"{good.stem}.json").read_text())
    assert transcript.model.id == "whisper-base-offline" and transcript.words
    assert set(transcript.timings_s) == {"decode", "transcribe"}
    assert (out / f"{good.stem}.vtt").read_text().startswith("WEBVTT")
    assert (out / f"{good.stem}.plain.txt").read_text().strip() == transcript.text
    assert (out / f"{good.stem}.txt").read_text().startswith("[00:0")


@pytest.mark.model
def test_progress_bar_counts_audio_seconds(run, tmp_path, real_speech_entries):
    result = run("transcribe", real_speech_entries[1]["path"], "--out", tmp_path, "--format", "txt")
    assert result.returncode == 0, result.stderr
    assert "s audio" in result.stderr and "100%" in result.stderr


@pytest.mark.model
def test_batched_short_files_each_get_their_own_output(run, tmp_path, real_speech_entries, fixture_entries):
    silence = next(e for e in fixture_entries if e["condition"] == "silence")["path"]
    clips = [e["path"] for e in real_speech_entries[:3]] + [silence]
    result = run("transcribe", *clips, "--batch-size", "4", "--format", "json", "--out", tmp_path, "--no-progress")
    assert result.returncode == 0, result.stderr
    for clip in clips:
        data = json.loads((tmp_path / f"{clip.stem}.json").read_text())
        assert bool(data["segments"]) == (clip != silence)


def test_unknown_model_is_a_clear_error(run, tmp_path, real_speech_entries):
    result = run("transcribe", real_speech_entries[0]["path"], "--model", "kb-whisper-enorm", "--out", tmp_path)
    assert result.returncode == 3
    assert "unknown model 'kb-whisper-enorm'" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.glob("*.json")) == []


def test_unreachable_hub_model_fails_fast_with_how_to(run, tmp_path, real_speech_entries):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = run(
        "transcribe",
        real_speech_entries[0]["path"],
        "--model",
        "kb-whisper-large",
        "--out",
        tmp_path,
        extra_env={"HF_ENDPOINT": f"http://127.0.0.1:{port}"},
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 3
    assert "hf download KBLab/kb-whisper-large" in result.stderr and "SWESCRIBE_ASR_MODEL" in result.stderr


def test_two_inputs_with_the_same_stem_are_refused(run, tmp_path, real_speech_entries):
    source = real_speech_entries[0]["path"]
    (tmp_path / "a").mkdir()
    copy = shutil.copy(source, tmp_path / "a" / source.name)
    result = run("transcribe", source, copy, "--out", tmp_path / "out")
    assert result.returncode == 2 and "separate --out" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_language_is_a_usage_error(run, tmp_path, real_speech_entries):
    result = run("transcribe", real_speech_entries[0]["path"], "--language", "klingon", "--out", tmp_path)
    assert result.returncode == 2 and "unknown language 'klingon'" in result.stderr


def test_unknown_format_is_a_usage_error(run, tmp_path, real_speech_entries):
    result = run("transcribe", real_speech_entries[0]["path"], "--format", "pdf", "--out", tmp_path)
    assert result.returncode == 2 and "pdf" in result.stderr


# --- speakers -----------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.diarization
def test_diarize_writes_speakers_in_every_format(run, tmp_path, conversation_entries):
    entry = next(e for e in conversation_entries if e["id"] == "conv2_samtal")
    out = tmp_path / "out"
    result = run(
        "transcribe",
        entry["path"],
        "--diarize",
        "--num-speakers",
        "2",
        "--out",
        out,
        "--no-progress",
        *[arg for fmt in ("json", "txt", "srt", "vtt", "rttm") for arg in ("--format", fmt)],
        extra_env={"SWESCRIBE_DIARIZATION_CPU_THREADS": "2"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    transcript = transcript_from_json((out / "conv2_samtal.json").read_text())
    assert [s.id for s in transcript.speakers] == ["Talare 1", "Talare 2"]
    assert all(w.speaker for w in transcript.words)
    text = (out / "conv2_samtal.txt").read_text()
    assert re.match(r"\[\d\d:\d\d\] Talare 1: ", text) and re.search(r"\n\[\d\d:\d\d\] Talare 2: ", text)
    assert "Talare 1: " in (out / "conv2_samtal.srt").read_text()
    assert "<v Talare 2>" in (out / "conv2_samtal.vtt").read_text()
    rttm = (out / "conv2_samtal.rttm").read_text().splitlines()
    assert rttm and all(line.split()[:2] == ["SPEAKER", "conv2_samtal"] for line in rttm)
    assert {line.split()[7] for line in rttm} == {"Talare_1", "Talare_2"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "rttm"], "need --diarize"),
        (["--num-speakers", "2"], "need --diarize"),
        (["--diarize", "--min-speakers", "3", "--max-speakers", "2"], "larger than --max-speakers"),
        (["--diarize", "--num-speakers", "2", "--max-speakers", "3"], "either --num-speakers or"),
        (["--diarize", "--num-speakers", "0"], "0 is not in the range"),
    ],
)
def test_speaker_options_are_checked_before_any_work(run, tmp_path, real_speech_entries, args, message):
    result = run("transcribe", real_speech_entries[0]["path"], *args, "--out", tmp_path / "out")
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_production_diarization_model_is_a_clear_error(run, tmp_path, real_speech_entries):
    result = run(
        "transcribe",
        real_speech_entries[0]["path"],
        "--diarize",
        "--out",
        tmp_path / "out",
        extra_env={"SWESCRIBE_DIARIZATION_MODEL": "community-1", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 3
    assert "pyannote/speaker-diarization-community-1" in result.stderr and "hf download" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
