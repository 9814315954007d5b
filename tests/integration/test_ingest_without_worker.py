"""`swescribe ingest` when no worker consumes the gpu queue: it says so within seconds instead
of waiting forever, and `--local` transcribes the folder in its own process with no broker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from workers.local.ports import free_port

from .stack import REPO_ROOT, make_stack, scratch_database

pytestmark = [pytest.mark.integration]

CLIP = REPO_ROOT / "audio_fixtures" / "synthetic" / "sv_clean_f4_04.flac"


@pytest.fixture(scope="module")
def no_worker_stack(tmp_path_factory, model_cache):
    """Redis and a database, and no worker at all."""
    root = tmp_path_factory.mktemp("no-worker")
    with scratch_database("sqlite", root) as url:
        service = make_stack(root / "stack", url, model_cache)
        try:
            yield service
        finally:
            service.stop()


def run_ingest(env: dict, folder: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "ingest", str(folder), "--settle-s", "0.2", "--no-progress", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def folder_with_a_clip(tmp_path: Path) -> Path:
    folder = tmp_path / "inkorg"
    (folder / "inbox").mkdir(parents=True)
    (folder / "inbox" / "samtal.flac").write_bytes(CLIP.read_bytes())
    return folder


def test_a_pass_with_no_worker_stops_within_seconds_and_says_how_to_start_one(no_worker_stack, tmp_path):
    folder = folder_with_a_clip(tmp_path)
    started = time.monotonic()
    result = run_ingest(no_worker_stack.env, folder, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert "no worker consumes the gpu queue" in result.stderr
    assert "swescribe worker --queues gpu" in result.stderr and "--local" in result.stderr
    assert (folder / "inbox" / "samtal.flac").exists(), "nothing was taken"


@pytest.mark.model
def test_local_transcribes_the_folder_in_process_with_no_broker(no_worker_stack, tmp_path):
    folder = folder_with_a_clip(tmp_path)
    # No broker at all: nothing answers on this port.
    env = {**no_worker_stack.env, "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = run_ingest(env, folder, "--local", timeout=300)
    assert result.returncode == 0, result.stderr
    outbox = sorted(p.name for p in (folder / "outbox").iterdir())
    assert outbox == ["samtal.docx", "samtal.json", "samtal.plain.txt", "samtal.srt", "samtal.txt", "samtal.vtt"]
    assert (folder / "outbox" / "samtal.txt").read_text(encoding="utf-8").strip()
    assert (folder / "done" / "samtal.flac").exists()
