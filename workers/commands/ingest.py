"""`swescribe ingest DIR [--watch]`: checks the folder and its options, then runs the Ingester."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from workers.settings import Settings
from workers.store.storage import StorageError
from workers.intake.options import JobOptions, OptionsRefused, check_allowed
from workers.ingest.folder_config import FolderConfigError, load_folder_config
from workers.ingest.layout import FolderLayout, IngestFolderError, folder_lock, prepare_folder
from workers.ingest.names import printable
from workers.ingest.runner import Ingester, Outcome, SubmitFailed
from workers.ingest.submit import Submitter, owner_for
from workers.intake.submit import Intake

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_UNUSABLE = 2


@dataclass(frozen=True)
class IngestRequest:
    folder: Path
    watch: bool
    settle_s: float
    poll_interval_s: float
    show_progress: bool


def check_folder(folder: Path, settings: Settings) -> tuple[FolderLayout, JobOptions]:
    """The folder prepared and its options checked; IngestFolderError / FolderConfigError say why not."""
    layout = prepare_folder(folder)
    options = load_folder_config(layout.root)
    try:
        check_allowed(options, settings)
    except OptionsRefused as e:
        raise FolderConfigError(f"{layout.root}: {e}") from e
    return layout, options


def run_ingest(request: IngestRequest, settings: Settings) -> int:
    try:
        layout, options = check_folder(request.folder, settings)
    except (IngestFolderError, FolderConfigError) as e:
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_UNUSABLE

    from workers.tasks.celery_app import make_celery

    from workers.tasks.names import GPU_QUEUE, TRANSCRIBE_TASK
    from workers.store.db import session_factory
    from workers.store.migrate import upgrade
    from workers.store.storage import storage_from_settings

    try:
        upgrade(settings.sqlalchemy_url)
        sessions = session_factory(settings.sqlalchemy_url)
        storage = storage_from_settings(settings)
        owner = owner_for(layout.root)
        if options.webhook_url is not None:
            _ensure_webhook_secret(sessions, owner, layout)
    except (SQLAlchemyError, ValueError) as e:
        click.echo(f"swescribe ingest: cannot use the job database or storage: {e}", err=True)
        return EXIT_SOME_FAILED
    celery = make_celery(settings)

    intake = Intake(sessions, storage, lambda job_id: celery.send_task(TRANSCRIBE_TASK, args=[job_id], queue=GPU_QUEUE))
    submitter = Submitter(intake, owner=owner, options=options)
    try:
        with folder_lock(layout):
            if request.watch:
                return _watch(layout, submitter, sessions, storage, request)
            return _once(layout, submitter, sessions, storage, request)
    except IngestFolderError as e:
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_UNUSABLE


def _once(layout, submitter, sessions, storage, request: IngestRequest) -> int:
    bar = tqdm(total=0, unit="file", desc="ingest", file=sys.stderr, disable=not request.show_progress)

    def outcome(o: Outcome) -> None:
        bar.update(1)
        if not o.ok:
            tqdm.write(f"failed: {printable(o.name)}: {o.detail}", file=sys.stderr)

    def started(total: int) -> None:
        bar.total = bar.n + total
        bar.refresh()

    ingester = Ingester(layout, submitter, sessions, storage, request.settle_s, on_outcome=outcome)
    try:
        still_writing = ingester.run_once(poll_interval_s=min(request.poll_interval_s, 0.5), on_started=started)
    except SubmitFailed as e:
        bar.close()
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_SOME_FAILED
    except (SQLAlchemyError, StorageError) as e:
        bar.close()
        click.echo(f"swescribe ingest: stopped: {e}; recordings taken so far stay in .processing and the next run "
                   "resumes them", err=True)
        return EXIT_SOME_FAILED
    bar.close()
    done = sum(o.ok for o in ingester.outcomes)
    failed = len(ingester.outcomes) - done
    line = f"ingested {len(ingester.outcomes)} file(s) from {layout.root}: {done} done, {failed} failed"
    if still_writing:
        line += f"; {len(still_writing)} still being written, left for the next run"
    click.echo(line, err=True)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _watch(layout, submitter, sessions, storage, request: IngestRequest) -> int:
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def outcome(o: Outcome) -> None:
        state = "done" if o.ok else f"failed: {o.detail}"
        click.echo(f"swescribe ingest: {printable(o.name)} -> {o.audio_to} ({state})", err=True)

    click.echo(f"swescribe ingest: watching {layout.inbox} (settle {request.settle_s:g} s)", err=True)
    Ingester(layout, submitter, sessions, storage, request.settle_s, on_outcome=outcome).watch(stop, request.poll_interval_s)
    click.echo("swescribe ingest: stopped; unfinished recordings stay in .processing and resume on the next start", err=True)
    return EXIT_OK


def _ensure_webhook_secret(sessions, owner: str, layout: FolderLayout) -> None:
    """Webhooks are signed with the owner's secret: the folder gets one, kept readable only by
    its owner in DIR/.webhook-secret so the receiving system can be configured with it."""
    import os

    from workers.webhooks import store

    endpoint = store.get_endpoint(sessions, owner)
    if endpoint is None:
        endpoint, _created = store.set_endpoint(sessions, owner, None)
    path = layout.root / ".webhook-secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(endpoint.secret + "\n")
        click.echo(f"swescribe ingest: webhooks are signed with the secret in {path}", err=True)
