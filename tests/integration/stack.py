"""The real service for tests: a Redis, the API under uvicorn and Celery workers as processes.

Everything listens on 127.0.0.1; a database is SQLite in a temporary folder or a fresh
PostgreSQL database on 127.0.0.1:5432 dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from workers.local.redis_server import RedisHandle, ensure_redis, free_port
from workers.store.db import get_engine

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = os.environ.get("SWESCRIBE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
START_TIMEOUT_S = 60


def create_postgres_database() -> tuple[str, str]:
    """A fresh database; returns (its SQLAlchemy URL, its name)."""
    name = f"swescribe_it_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", name


def drop_postgres_database(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[str]:
    """A SQLAlchemy URL for an empty database: a SQLite file in `folder`, or a fresh
    PostgreSQL database that is dropped afterwards (with this process's pool closed first)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'swescribe.db'}"
        return
    url, name = create_postgres_database()
    try:
        yield url
    finally:
        get_engine(url).dispose()
        drop_postgres_database(name)


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    redis: RedisHandle
    port: int
    api: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def storage_dir(self) -> Path:
        return self.root / "data" / "storage"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - open for the child's whole life
        return subprocess.Popen(
            [sys.executable, "-m", "workers.commands.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_api(self) -> None:
        self.api = self._spawn("api", "api", "--port", str(self.port))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                raise RuntimeError(f"api exited: {(self.root / 'api.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("api did not start")

    def stop_api(self) -> None:
        _stop(self.api)
        self.api = None

    def start_worker(self, queues: str = "gpu") -> subprocess.Popen:
        index = len(self.workers)
        log_path = self.root / f"worker{index}.log"
        name = f"{queues.replace(',', '-')}{index}-{uuid.uuid4().hex[:6]}@%h"
        worker = self._spawn(f"worker{index}", "worker", "--queues", queues, "--name", name)
        self.workers.append(worker)  # before waiting: stop() ends it even if it never gets ready
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
            if log_path.exists() and " ready." in log_path.read_text(errors="replace"):
                return worker
            time.sleep(0.2)
        raise RuntimeError("worker did not start")

    def kill_worker(self, worker: subprocess.Popen) -> None:
        """SIGKILL the worker and its pool children: what a crash or the OOM killer does."""
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def client(self, key: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def create_key(self, name: str, *options: str) -> str:
        """A new key (`options`: --tenant T, --role R); the CLI prints it on its last line."""
        return self.cli("keys", "create", name, *options)

    def cli(self, *args: str) -> str:
        """The last line `swescribe ARGS...` prints, run against this stack's settings."""
        result = subprocess.run(
            [sys.executable, "-m", "workers.commands.cli", *args],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        for worker in self.workers:
            _stop(worker)
        self.stop_api()
        self.redis.stop()


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def spawn_up(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """`swescribe up` on `port` as its own process group (Ctrl-C is sent to the group), its
    output in `log_path`; the caller waits for whatever it needs."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "workers.commands.cli", "up", "--port", str(port)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def make_stack(root: Path, database_url: str, model_cache: Path, **settings: str) -> Stack:
    root.mkdir(parents=True, exist_ok=True)
    redis = ensure_redis(f"redis://127.0.0.1:{free_port()}/0", root / "redis.log")
    env = {
        **os.environ,
        "SWESCRIBE_DATA_DIR": str(root / "data"),
        "SWESCRIBE_DATABASE_URL": database_url,
        "SWESCRIBE_REDIS_URL": redis.url,
        "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_ASR_CPU_THREADS": "2",
        "HF_HUB_OFFLINE": "1",
        **{f"SWESCRIBE_{k.upper()}": v for k, v in settings.items()},
    }
    return Stack(root=root, env=env, redis=redis, port=free_port())
