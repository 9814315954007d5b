"""`swescribe up`: the whole service on one machine, started and stopped with one command.

The database and broker code is imported inside the functions that use it, so `swescribe
--help` stays fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from workers.extras import exit_unless_installed
from workers.settings import Settings, get_settings, url_for_display

READY_TIMEOUT_S = 60
STOP_GRACE_S = 15


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--ingest-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also watch this ingest folder (default: SWESCRIBE_INGEST_DIR; unset: none).")
def up(host: str, port: int, ingest_dir: Path | None) -> None:
    """Start the whole local stack: Redis if needed, a worker per queue, the API (and an ingest watcher)."""
    exit_unless_installed("the local stack (its transcription worker)", "worker")
    settings = get_settings()
    from app.exposure import UnsafeBind, check_bind

    try:
        # The API would refuse to start; say so before Redis and the workers are started.
        check_bind(settings, host)
    except UnsafeBind as e:
        click.echo(f"swescribe up: not started: {e}", err=True)
        sys.exit(2)
    sys.exit(run_local_stack(settings, host, port, ingest_dir or settings.ingest_dir))


def run_local_stack(settings: Settings, host: str, port: int, ingest_dir: Path | None = None) -> int:
    from workers.local.redis_server import ensure_redis
    from workers.store.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if ingest_dir is not None:
        from workers.commands.ingest import check_folder
        from workers.ingest.folder_config import FolderConfigError
        from workers.ingest.layout import IngestFolderError

        try:
            check_folder(ingest_dir, settings)
        except (IngestFolderError, FolderConfigError) as e:
            click.echo(f"swescribe: ingest folder: {e}", err=True)
            return 2
    upgrade(settings.sqlalchemy_url)
    key = _first_key(settings)
    try:
        broker = ensure_redis(settings.redis_url, settings.data_dir / "logs" / "redis.log")
    except RuntimeError as e:
        click.echo(f"swescribe: {e}", err=True)
        return 1
    env = {**os.environ, "SWESCRIBE_REDIS_URL": broker.url, "SWESCRIBE_DATA_DIR": str(settings.data_dir)}
    llm = _start_embedded_llm(settings)
    if llm is not None:
        from workers.summary.configured import embedded_settings_env

        env.update(embedded_settings_env(llm.base_url))
    command = [sys.executable, "-m", "workers.commands.cli"]
    children = {
        "worker-gpu": subprocess.Popen([*command, "worker", "--queues", "gpu", "--name", "gpu@%h"], env=env),
        # Two processes, so webhooks never wait behind a summary; summaries on the embedded
        # model take turns (SWESCRIBE_LLM_ONE_AT_A_TIME).
        "worker-cpu": subprocess.Popen([*command, "worker", "--queues", "cpu", "--concurrency", "2", "--name", "cpu@%h"], env=env),
        "api": subprocess.Popen([*command, "api", "--host", host, "--port", str(port), "--no-migrate"], env=env),
    }
    if llm is not None:
        children["llm"] = llm.process
    if ingest_dir is not None:
        children["ingest"] = subprocess.Popen([*command, "ingest", str(ingest_dir), "--watch"], env=env)
    stopping = False

    def stop(_signum=None, _frame=None):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if _wait_ready(f"http://{host}:{port}/healthz", children):
            _announce(settings, host, port, broker.url, key)
            configured = url_for_display(settings.llm_base_url) if settings.llm_base_url else "off"
            summaries = f"embedded model at {llm.base_url} (log {llm.log_path})" if llm else configured
            click.echo(f"  summaries (summarize=true): {summaries}", err=True)
        while not stopping:
            exited = [name for name, child in children.items() if child.poll() is not None]
            if exited:
                click.echo(f"swescribe: {', '.join(exited)} stopped unexpectedly; stopping the stack", err=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop_all(children.values())
        broker.stop()
        click.echo("swescribe: stopped", err=True)


def _start_embedded_llm(settings: Settings):
    """The embedded llama.cpp server when no LLM endpoint is configured (None otherwise, or
    when it cannot run here: then summaries fail with that reason, transcripts are unaffected)."""
    if settings.llm_base_url:
        return None
    from workers.summary.embedded_server import EmbeddedServerError, start_embedded_server

    try:
        return start_embedded_server(settings, settings.data_dir / "logs" / "llm.log")
    except EmbeddedServerError as e:
        click.echo(f"swescribe: summaries are off: {e}", err=True)
        return None


def _first_key(settings: Settings) -> str | None:
    """With auth on and no key yet, make one so the printed example works; shown once."""
    if settings.auth_disabled:
        return None
    from workers.store.db import ApiKey, session_factory
    from workers.store.keys import create_key

    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        if session.query(ApiKey).first() is not None:
            return None
    _record, key = create_key(sessions, "local")
    return key


def _wait_ready(url: str, children: dict) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def _announce(settings: Settings, host: str, port: int, redis_url: str, key: str | None) -> None:
    from app.exposure import docs_are_public

    base = f"http://{host}:{port}"
    auth = "" if settings.auth_disabled else ' -H "Authorization: Bearer $SWESCRIBE_KEY"'
    docs = f"  (API docs: {base}/docs)" if docs_are_public(settings, host) else ""
    lines = [
        f"swescribe is running at {base}{docs}",
        # Passwords in either URL are shown as ***: the banner ends up in terminals and logs.
        f"  model {settings.asr_model}, database {url_for_display(settings.sqlalchemy_url)}, "
        f"broker {url_for_display(redis_url)}",
    ]
    if key:
        lines.append(f"  new API key (shown once; `swescribe keys create NAME` makes more): {key}")
        lines.append(f"  export SWESCRIBE_KEY={key}")
    elif not settings.auth_disabled:
        lines.append("  use your API key as SWESCRIBE_KEY (`swescribe keys create NAME` makes one)")
    lines += [
        f"  curl{auth} -F file=@recording.wav {base}/v1/jobs",
        f"  curl{auth} {base}/v1/jobs/<id>/transcript?format=txt",
        "Ctrl-C stops everything.",
    ]
    click.echo("\n".join(lines), err=True)


def _stop_all(children) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
