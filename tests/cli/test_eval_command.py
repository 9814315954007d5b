"""`swescribe eval` as operators run it: the real pipeline over a manifest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def swescribe(*args, model_cache, timeout=600):
    env = {**os.environ, "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache), "SWESCRIBE_ASR_CPU_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "workers.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO_ROOT, timeout=timeout)


@pytest.mark.model
def test_eval_on_real_speech_writes_reports_and_prints_the_wer_last(tmp_path, model_cache, real_speech_entries):
    manifest = real_speech_entries[0]["path"].parent / "manifest.jsonl"
    config = tmp_path / "greedy.json"
    config.write_text(json.dumps({"beam_size": 1, "temperatures_fallback": [0.0]}))
    result = swescribe("eval", "--manifest", manifest, "--config", config, "--out", tmp_path / "acc", model_cache=model_cache)
    assert result.returncode == 0, result.stderr
    wer = float(result.stdout.strip().splitlines()[-1])
    summary = json.loads((tmp_path / "acc" / "eval.json").read_text())
    assert summary["all_groups"]["wer"] == pytest.approx(wer, abs=1e-4)
    assert 0 < wer < 0.6
    assert list(summary["by_group"]) == ["real_speech"]
    assert summary["by_group"]["real_speech"]["speech"] == "real"
    assert summary["by_group"]["real_speech"]["overall"]["wer"] == summary["all_groups"]["wer"]
    assert summary["options"]["beam_size"] == 1
    assert len(summary["recordings"]) == len(real_speech_entries)
    assert "real_speech (real speech): WER" in result.stderr and "all groups pooled" in result.stderr
    assert (tmp_path / "acc" / "eval.png").stat().st_size > 1000


def test_a_bad_manifest_or_config_is_a_usage_error(tmp_path, model_cache):
    broken = tmp_path / "m.jsonl"
    broken.write_text('{"id": "x"}\n')
    result = swescribe("eval", "--manifest", broken, "--out", tmp_path, model_cache=model_cache)
    assert result.returncode == 2 and "not a manifest entry" in result.stderr
    config = tmp_path / "c.json"
    config.write_text('{"beam": 3}')
    result = swescribe("eval", "--config", config, "--out", tmp_path, model_cache=model_cache)
    assert result.returncode == 2 and "unknown options ['beam']" in result.stderr
