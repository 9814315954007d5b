"""`swescribe up`: the whole service on one machine, started and stopped with one command.

The database and broker code is imported inside the functions that use it, so `swescribe
--help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from workers.extras import exit_unless_installed
from workers.local.children import die_with_parent
from workers.settings import Settings, get_settings, url_for_display

READY_TIMEOUT_S = 60
STOP_GRACE_S = 15
# A child that crashes this many times within the window is not restarted again.
CRASHES_ALLOWED = 5
CRASH_WINDOW_S = 300
RESTART_BACKOFF_MAX_S = 30


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--ingest-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also watch this ingest folder (default: SWESCRIBE_INGEST_DIR; unset: none).",
)
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
        broker = ensure_redis(settings.redis_url, settings.data_dir / "logs" / "redis.log", settings.data_dir / "redis")
    except RuntimeError as e:
        click.echo(f"swescribe: {e}", err=True)
        return 1
    env = {**os.environ, "SWESCRIBE_REDIS_URL": broker.url, "SWESCRIBE_DATA_DIR": str(settings.data_dir)}
    llm = _start_embedded_llm(settings)
    if llm is not None:
        from workers.summary.configured import embedded_settings_env

        env.update(embedded_settings_env(llm.base_url))
    broker_settings = settings.model_copy(update={"redis_url": broker.url})
    # Jobs the last run left running (its workers are gone now) or whose tasks the broker lost
    # are queued again before any worker starts, so they resume at once.
    _reconcile(broker_settings, resend_after_s=0)
    command = [sys.executable, "-m", "workers.commands.cli"]
    commands = {
        # One worker per lane: an upload runs beside a folder's bulk batch (sharing the cores)
        # instead of waiting for it, so the bulk lane can decode large batches efficiently.
        "worker-gpu-normal": [*command, "worker", "--queues", "gpu-normal", "--name", "gpu-normal@%h"],
        "worker-gpu-bulk": [*command, "worker", "--queues", "gpu-bulk", "--name", "gpu-bulk@%h"],
        # Two processes, so webhooks never wait behind a summary; summaries on the embedded
        # model take turns (SWESCRIBE_LLM_ONE_AT_A_TIME).
        "worker-cpu": [*command, "worker", "--queues", "cpu", "--concurrency", "2", "--name", "cpu@%h"],
        "api": [*command, "api", "--host", host, "--port", str(port), "--no-migrate"],
    }
    if ingest_dir is not None:
        commands["ingest"] = [*command, "ingest", str(ingest_dir), "--watch"]
    children = {name: Child(name, argv, env) for name, argv in commands.items()}
    if llm is not None:
        children["llm"] = Child("llm", None, env, llm.process)
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
            gave_up = _supervise(children)
            if gave_up:
                click.echo(gave_up, err=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        _stop_all(children.values())
        # The workers are gone: a job one of them held goes back to queued now, its task into
        # the (persistent) broker, so the next start picks it up at once.
        _reconcile(broker_settings, resend_after_s=None)
        broker.stop()
        click.echo("swescribe: stopped", err=True)


class Child:
    """A process of the stack, started again when it crashes; `argv` None: not restartable
    (the embedded LLM server, whose address the workers were given)."""

    def __init__(self, name: str, argv: list[str] | None, env: dict, process: subprocess.Popen | None = None):
        self.name, self.argv, self.env = name, argv, env
        # Its own process group, so Ctrl-C reaches `up` alone, which stops the children in order,
        # and a stop can end a worker's pool processes with it; and SIGTERM when `up` itself is
        # killed, so no worker or API outlives the stack.
        self.process = process or subprocess.Popen(argv, env=env, start_new_session=True, preexec_fn=die_with_parent)
        self.crashes: list[float] = []
        self.restart_at: float | None = None

    def exited(self) -> bool:
        return self.restart_at is None and self.process.poll() is not None

    def restart(self) -> None:
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True, preexec_fn=die_with_parent)
        self.restart_at = None


def _supervise(children: dict[str, Child]) -> str | None:
    """Restart crashed children after a backoff; the reason to stop the stack when one keeps
    crashing (or one that cannot be restarted stopped), else None."""
    now = time.monotonic()
    for name, child in list(children.items()):
        if child.restart_at is not None:
            if now >= child.restart_at:
                click.echo(f"swescribe: restarting {name}", err=True)
                child.restart()
            continue
        if not child.exited():
            continue
        if child.argv is None:
            click.echo(
                f"swescribe: {name} stopped (exit {child.process.returncode}); summaries will fail until the next start", err=True
            )
            del children[name]
            continue
        child.crashes = [t for t in child.crashes if now - t < CRASH_WINDOW_S] + [now]
        if len(child.crashes) >= CRASHES_ALLOWED:
            return (
                f"swescribe: {name} crashed {len(child.crashes)} times within {CRASH_WINDOW_S // 60} minutes "
                f"(last exit {child.process.returncode}); stopping the stack. Its output is above."
            )
        delay_s = min(RESTART_BACKOFF_MAX_S, 2 ** (len(child.crashes) - 1))
        click.echo(
            f"swescribe: {name} stopped unexpectedly (exit {child.process.returncode}); restarting it in {delay_s} s", err=True
        )
        child.restart_at = now + delay_s
    return None


def _reconcile(settings: Settings, resend_after_s: float | None) -> None:
    """One reconciler pass from `up` itself (the cpu worker runs it on a schedule)."""
    from workers.tasks.celery_app import make_celery
    from workers.tasks.names import send_ticket
    from workers.tasks.reconcile import reconcile_once

    celery = make_celery(settings)
    try:
        reconcile_once(settings, functools.partial(send_ticket, celery), resend_after_s)
    except Exception as e:  # noqa: BLE001 - the cpu worker's reconciler tries again on its schedule
        click.echo(f"swescribe: could not check for interrupted jobs: {e}", err=True)
    finally:
        celery.close()


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
    # The local user runs the default tenant: an admin, so /v1/admin works out of the box.
    _record, key = create_key(sessions, "local", role="admin")
    return key


def _wait_ready(url: str, children: dict[str, Child]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(child.exited() for child in children.values()):
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
        f"  model {settings.asr_model}, database {url_for_display(settings.sqlalchemy_url)}, broker {url_for_display(redis_url)}",
    ]
    if key:
        lines.append(f"  new API key (shown once; `swescribe keys create NAME` makes more): {key}")
        lines.append(f"  export SWESCRIBE_KEY={key}")
    elif not settings.auth_disabled:
        lines.append("  use your API key as SWESCRIBE_KEY (`swescribe keys create NAME` makes one)")
    lines += [
        f"  curl{auth} -F file=@recording.wav {base}/v1/jobs",
        f"  curl{auth} {base}/v1/jobs/<id>/transcript?format=txt",
        "Ctrl-C stops everything; a job cut off resumes at the next start.",
    ]
    click.echo("\n".join(lines), err=True)


def _stop_all(children) -> None:
    """SIGTERM, but a cold shutdown (SIGQUIT) for the gpu worker: a transcription can run for
    hours, so Ctrl-C hands its job back (queued again by the reconciler pass that follows) rather
    than wait for it. Then SIGKILL to each child's whole process group (pool processes too)."""
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGQUIT if child.name.startswith("worker-gpu") else signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        _kill_group(child.process)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.kill()
    except ProcessLookupError:
        pass
    process.wait()
