"""`swescribe eval` as operators run it: the real pipeline over a manifest, its options and
its usage errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workers.commands.cli import main
from workers.commands.evaluate import ConfigError, options_from_config, production_options, run_eval
from workers.pipeline import run as pipeline_run
from workers.pipeline.guards import GuardOptions
from workers.pipeline.transcribe import TranscribeOptions, VadSettings
from workers.runners import configured_models
from workers.settings import Settings
from workers.transcript.types import ModelInfo, Transcript

REPO_ROOT = Path(__file__).resolve().parents[2]


def swescribe(*args, model_cache, timeout=600):
    env = {**os.environ, "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache), "SWESCRIBE_ASR_CPU_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=timeout,
    )


def write_config(tmp_path: Path, content) -> Path:
    path = tmp_path / "options.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def tiny_manifest(tmp_path: Path) -> Path:
    (tmp_path / "a.wav").write_bytes(b"x")
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps({"id": "a", "file": "a.wav", "text": "hej hej"}) + "\n", encoding="utf-8")
    return path


@pytest.mark.model
def test_eval_on_real_speech_writes_reports_and_prints_the_wer_last(tmp_path, model_cache, real_speech_entries):
    manifest = real_speech_entries[0]["path"].parent / "manifest.jsonl"
    config = write_config(tmp_path, {"beam_size": 1, "temperatures_fallback": [0.0]})
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
    config = write_config(tmp_path, {"beam": 3})
    result = swescribe("eval", "--config", config, "--out", tmp_path, model_cache=model_cache)
    assert result.returncode == 2 and "unknown options ['beam']" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ([1, 2], "expected a JSON object"),
        ({"beam": 3}, "unknown options ['beam']"),
        ({"vad": {"treshold": 0.4}}, "unknown options ['vad.treshold']"),
        ({"vad": 0.5}, "vad must be an object of VadSettings fields"),
        ({"guards": {"max_repeats": 2}}, "unknown options ['guards.max_repeats']"),
        ({"guards": {"max_consecutive_repeats": "3"}}, "guards.max_consecutive_repeats must be int"),
        ({"beam_size": "5"}, "beam_size must be int"),
        ({"beam_size": True}, "beam_size must be int"),
        ({"beam_size": 0}, "beam_size must be at least 1"),
        ({"temperatures_fallback": 0.0}, "temperatures_fallback must be a non-empty list"),
        ({"temperatures_fallback": ["hot"]}, r"temperatures_fallback[0] must be float"),
        ({"language": "klingon"}, "unknown language"),
        ({"batch_size": 4, "condition_on_previous_text": True}, "needs sequential decoding"),
    ],
)
def test_every_bad_config_exits_2_with_a_clear_message(tmp_path, content, message):
    config = write_config(tmp_path, content)
    result = CliRunner().invoke(
        main, ["eval", "--manifest", str(tiny_manifest(tmp_path)), "--config", str(config), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert f"swescribe: {config}: " in result.output and message in result.output
    assert not (tmp_path / "out").exists()


def test_config_guards_and_vad_become_their_option_types(tmp_path):
    config = write_config(
        tmp_path,
        {
            "guards": {"max_consecutive_repeats": 2},
            "vad": {"threshold": 0.4},
            "temperatures_fallback": [0, 0.5],
            "no_speech_threshold": 1,
        },
    )
    options = options_from_config(config)
    assert options.guards == GuardOptions(max_consecutive_repeats=2)
    assert options.vad == VadSettings(threshold=0.4)
    assert options.temperatures_fallback == (0.0, 0.5) and isinstance(options.no_speech_threshold, float)


def test_config_can_turn_vad_off_and_detect_the_language(tmp_path):
    options = options_from_config(write_config(tmp_path, {"vad": None, "language": "auto"}))
    assert options.vad is None and options.language is None


def test_config_errors_are_value_errors_naming_the_file(tmp_path):
    config = write_config(tmp_path, {"vad": {"threshold": "high"}})
    with pytest.raises(ConfigError, match=r"options.json: vad.threshold must be float"):
        options_from_config(config)


def test_production_options_follow_the_job_workers_settings(monkeypatch):
    monkeypatch.setenv("SWESCRIBE_ASR_BATCH_SIZE", "8")
    monkeypatch.setenv("SWESCRIBE_ASR_LANGUAGE", "auto")
    monkeypatch.setenv("SWESCRIBE_ASR_LONG_BATCH_SIZE", "2")
    options = production_options(Settings())
    assert options == TranscribeOptions(language=None, batch_size=8, long_batch_size=2)
    monkeypatch.delenv("SWESCRIBE_ASR_LONG_BATCH_SIZE")
    monkeypatch.setenv("SWESCRIBE_ASR_DEVICE", "cpu")
    assert production_options(Settings()).long_batch_size == 4, "the measured default for the CPU"


def test_a_config_overrides_the_settings_only_where_it_says(tmp_path):
    base = production_options(Settings(asr_batch_size=4, asr_language="en"))
    options = options_from_config(write_config(tmp_path, {"beam_size": 2}), base)
    assert (options.language, options.batch_size, options.beam_size) == ("en", 4, 2)
    options = options_from_config(write_config(tmp_path, {"batch_size": 1, "language": "sv"}), base)
    assert (options.language, options.batch_size) == ("sv", 1)


class _FakeModel:
    info = ModelInfo(id="fake", revision=None, device="cpu", compute_type="int8")


def test_eval_decodes_with_the_configured_batch_size_and_language(tmp_path, monkeypatch, capsys):
    seen = []

    def fake_transcribe_file(model, path, options):
        seen.append(options)
        return Transcript(language="en", language_probability=1.0, duration_s=1.0, segments=(), model=model.info)

    # Where run_eval imports them from when it runs (the command module loads no model code).
    monkeypatch.setattr(configured_models, "load_configured_model", lambda name, settings: _FakeModel())
    monkeypatch.setattr(pipeline_run, "transcribe_file", fake_transcribe_file)
    settings = Settings(asr_batch_size=4, asr_language="en")
    assert run_eval((tiny_manifest(tmp_path),), "fake", None, tmp_path / "out", settings) == 0
    assert [(o.batch_size, o.language) for o in seen] == [(4, "en")]
    summary = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert (summary["options"]["batch_size"], summary["options"]["language"]) == (4, "en")
    assert capsys.readouterr().out.strip().splitlines()[-1] == "1.0000"
