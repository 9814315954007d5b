"""bench/throughput/run.py without the stack: clip building, output checks, targets and the report."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "throughput" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_throughput_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def tone(seconds: float, lead_s: float = 0.0, sr: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    speech = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.concatenate([np.zeros(int(lead_s * sr), dtype=np.float32), speech])


def fake_sources(bench):
    return [
        bench.Source("real_a", True, tone(4.0)),
        bench.Source("real_b", True, tone(6.5)),
        bench.Source("syn_a", False, tone(5.0)),
        bench.Source("syn_b", False, tone(7.0)),
    ]


def test_speech_span_drops_silence_around_speech(bench):
    samples = np.concatenate([np.zeros(16_000, dtype=np.float32), tone(2.0), np.zeros(8_000, dtype=np.float32)])
    start, end = bench.speech_span(samples)
    assert abs(start - (16_000 - int(bench.SPEECH_MARGIN_S * 16_000))) <= 480
    assert abs(end - (48_000 + int(bench.SPEECH_MARGIN_S * 16_000))) <= 480
    assert bench.speech_span(np.zeros(1000, dtype=np.float32)) == (0, 1000)


def test_clips_are_labelled_sized_distinct_and_reproducible(bench, tmp_path):
    sources = fake_sources(bench)
    clips = bench.build_clips(sources, tmp_path / "a", 20, seed=5, min_s=2.0, max_s=12.0)
    again = bench.build_clips(sources, tmp_path / "b", 20, seed=5, min_s=2.0, max_s=12.0)
    assert len(clips) == 20
    assert sum(c.real for c in clips) == 10  # real_fraction 0.5, spread over the run
    digests = set()
    for clip, twin in zip(clips, again):
        assert 2.0 <= clip.duration_s <= 12.0
        assert clip.name.endswith("_real.wav" if clip.real else "_synthetic.wav")
        # a real clip is made of real sources only, a synthetic one of synthetic sources only
        assert all(s.startswith("real" if clip.real else "syn") for s in clip.sources)
        with wave.open(clip.path) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
            assert abs(w.getnframes() / 16_000 - clip.duration_s) < 0.01
        data = Path(clip.path).read_bytes()
        assert data == Path(twin.path).read_bytes()
        digests.add(hashlib.sha256(data).hexdigest())
    assert len(digests) == 20  # the ingester deduplicates by content
    assert any(c.duration_s > max(len(s.samples) for s in sources) / 16_000 for c in clips)  # joined sources


def test_single_clip_is_ten_seconds_of_real_speech(bench, tmp_path):
    single = bench.build_single(fake_sources(bench), tmp_path, seed=1)
    assert single.real and single.duration_s == 10.0
    assert all(s.startswith("real") for s in single.sources)


def test_check_outputs_flags_missing_and_empty_real_only(bench, tmp_path):
    clips = bench.build_clips(fake_sources(bench), tmp_path, 4, seed=2)
    stems = [Path(c.name).stem for c in clips]  # real, synthetic, real, synthetic
    texts = {stems[0]: "hej", stems[1]: "", stems[2]: "", stems[3]: None}
    check = bench.check_outputs(clips, texts, "REST")
    assert (check["results"], check["missing"], check["empty_real"], check["empty_synthetic"]) == (3, 1, 1, 1)
    assert len(check["problems"]) == 2
    ok = bench.check_outputs(clips, {s: "text" for s in stems}, "CLI")
    assert ok["problems"] == []


def results(bench, rest_fpm: float, behind: float | None, files: int = 20) -> dict:
    check = {"results": files, "missing": 0, "empty_real": 0, "empty_synthetic": 1, "problems": []}
    return {
        "date_utc": "2026-12-03 10:00 UTC",
        "command": "python bench/throughput/run.py --files 20",
        "files": files,
        "machine": {
            "cpu_model": "AMD EPYC",
            "cores": 2,
            "ram_gib": 23.5,
            "kernel": "6.1",
            "python": "3.11.7",
            "load_start": [1.0, 1.0, 1.0],
            "load_end": [2.0, 2.0, 2.0],
        },
        "settings": {
            "model": "whisper-base-offline",
            "cpu_threads": 2,
            "batch_size": 8,
            "cli_batch_size": 8,
            "upload_concurrency": 4,
            "settle_s": 1.0,
            "priority_sent": True,
            "worker_env": {},
        },
        "clips": {
            "files": files,
            "real": 10,
            "synthetic": 10,
            "audio_s": 140.0,
            "mean_s": 7.0,
            "shortest_s": 2.1,
            "longest_s": 11.9,
        },
        "phases": {
            "cli": {"files": files, "wall_s": 20.0, "files_per_min": 60.0, "check": check},
            "rest": {"files": files, "wall_s": 30.0, "files_per_min": rest_fpm, "check": check},
            "ingest": {"files": files, "wall_s": 24.0, "files_per_min": 50.0, "check": check},
            "fairness": {
                "bulk_files": files,
                "bulk_queued_at_submit": 18,
                "bulk_finished_at_done": 3,
                "idle_runs_s": [4.0, 5.0, 6.0],
                "idle_median_s": 5.0,
                "behind_bulk_s": behind,
                "timeout_s": 600.0,
            },
        },
        "walls_s": {"cli": 20.0, "rest": 30.0},
        "loads": {"cli": [1.0, 1.5], "rest": [1.5, 2.0]},
    }


def test_targets_compare_job_paths_with_the_cli_and_the_wait_with_idle(bench):
    rows = bench.targets(results(bench, rest_fpm=40.0, behind=12.0)["phases"])
    assert [r["pass"] for r in rows] == [False, True, True]  # REST 0.67x, ingest 0.83x, 2.4x idle
    assert rows[0]["value"] == pytest.approx(0.667, abs=0.001)
    assert rows[2]["value"] == 2.4
    late = bench.targets(results(bench, rest_fpm=60.0, behind=None)["phases"])
    assert late[0]["pass"] and not late[2]["pass"] and late[2]["value"] is None
    assert "not finished within 600 s" in late[2]["measured"]


def test_section_is_marked_as_a_trial_below_the_full_run(bench):
    trial = bench.render_section(results(bench, rest_fpm=50.0, behind=7.5))
    assert trial.startswith(bench.SECTION_HEADING + "\n")
    assert "Trial run with 20 files" in trial
    assert "| REST `POST /v1/jobs` | 20 | 30.0 | 50.0 | 4.67 | 0.83x | 20 | 0 / 1 |" in trial
    assert "| 10 s upload behind 20 queued bulk files <= 3 x idle | 1.50x (7.5 s vs 5.0 s idle) | PASS |" in trial
    assert "SYNTHETIC" in trial
    full = bench.render_section(results(bench, rest_fpm=50.0, behind=7.5, files=300))
    assert "Trial run" not in full
    json.dumps(results(bench, 50.0, 7.5))  # the report is plain JSON
