"""Shared fixtures: the real offline model, the fixture manifests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "audio_fixtures"
# Real human speech is kept beside the project (../shared/real_speech), not in it.
REAL_SPEECH_DIR = Path(os.environ.get("SWESCRIBE_REAL_SPEECH_DIR", REPO_ROOT.parent / "shared" / "real_speech"))


def load_manifest(path: Path) -> list[dict]:
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for entry in entries:
        entry["path"] = path.parent / entry["file"]
    return entries


@pytest.fixture(scope="session")
def fixture_entries() -> list[dict]:
    return load_manifest(FIXTURES_DIR / "manifest.jsonl")


@pytest.fixture(scope="session")
def real_speech_entries() -> list[dict]:
    manifest = REAL_SPEECH_DIR / "manifest.jsonl"
    if not manifest.is_file():
        pytest.fail(f"real speech clips are missing: expected {manifest} (set SWESCRIBE_REAL_SPEECH_DIR)")
    return load_manifest(manifest)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def offline_model(model_cache):
    from workers.pipeline.asr_model import DeviceOptions, load_model
    from workers.pipeline.model_registry import resolve_model

    return load_model(resolve_model("whisper-base-offline", cache_dir=model_cache), DeviceOptions(device="cpu", cpu_threads=2))
