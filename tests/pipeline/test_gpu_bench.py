"""bench/gpu/run.py, the GPU benchmark, run here on the CPU with the offline models on a few
seconds of SYNTHETIC speech: every stage is reported with its time, real-time factor and memory
fields, the published anchors come with their sources, and a missing model says how to get it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "bench" / "gpu" / "run.py"
CLIP = REPO_ROOT / "audio_fixtures" / "synthetic" / "sv_clean_f4_04.flac"  # synthetic (espeak-ng), a few seconds


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SWESCRIBE_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    env.pop("SWESCRIBE_MODEL_CACHE_DIR", None)
    return env


@pytest.mark.model
@pytest.mark.diarization
def test_cpu_run_reports_every_stage_and_the_anchors(tmp_path):
    out = tmp_path / "gpu.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--device",
        "cpu",
        "--asr-model",
        "whisper-base-offline",
        "--diarization-model",
        "pyannote-offline",
        "--audio",
        str(CLIP),
        "--batch-size",
        "4",
        "--cpu-threads",
        "2",
        "--results",
        str(out),
    ]
    done = subprocess.run(cmd, env=_env(tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))

    assert results["device"] == "cpu" and results["gpu"] is None
    assert results["asr_model"]["name"] == "whisper-base-offline" and results["asr_model"]["device"] == "cpu"
    assert results["diarization_model"]["name"] == "pyannote-offline"
    duration = results["audio"]["duration_s"]
    assert 1 < duration < 30

    stages = {s["stage"]: s for s in results["stages"]}
    assert list(stages) == ["decode", "transcribe_sequential", "transcribe_batched", "diarize"]
    for stage in stages.values():
        assert stage["seconds"] > 0
        assert stage["rtf"] == pytest.approx(stage["seconds"] / duration, rel=0.01, abs=1e-4)
        assert stage["gpu_memory"] == {"method": "none"}  # nothing to sample on a CPU run
    assert stages["transcribe_sequential"]["batch_size"] == 1 and stages["transcribe_batched"]["batch_size"] == 4
    assert stages["transcribe_sequential"]["words"] > 0 and stages["transcribe_batched"]["words"] > 0
    assert stages["diarize"]["speakers"] >= 1 and stages["diarize"]["torch_max_allocated_mib"] is None
    assert results["loads"]["asr"]["seconds"] > 0 and results["loads"]["diarization"]["seconds"] > 0

    anchors = results["anchors"]
    assert {a["stage"] for a in anchors} == {"transcribe_sequential", "transcribe_batched", "diarize"}
    for anchor in anchors:
        assert anchor["source"].startswith("https://") and anchor["rtf"] == pytest.approx(
            anchor["seconds"] / anchor["audio_s"], abs=1e-4
        )
    assert any("SYSTRAN/faster-whisper" in a["source"] and "batch_size=8" in a["what"] for a in anchors)
    # The Markdown report goes to stdout, with the anchors' sources.
    assert "| transcribe_batched |" in done.stdout and "Sources:" in done.stdout


def test_a_missing_model_says_how_to_get_it(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--device", "cpu", "--asr-model", "kb-whisper-large", "--audio", str(CLIP)]
    done = subprocess.run(cmd, env=_env(tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "KBLab/kb-whisper-large" in done.stderr and "hf download KBLab/kb-whisper-large" in done.stderr
    assert "Traceback" not in done.stderr
