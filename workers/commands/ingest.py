"""`swescribe ingest DIR [--watch]`: checks the folder and its options, then runs the Ingester.

The database, broker and storage code is imported inside the functions that use it, so
`swescribe --help` stays fast.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workers.ingest.layout import FolderLayout, IngestFolderError, folder_lock, prepare_folder
from workers.ingest.names import printable
from workers.settings import Settings, get_settings

if TYPE_CHECKING:
    from workers.ingest.runner import Outcome
    from workers.intake.options import JobOptions

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
    max_audio_s: float | None = None
    local: bool = False  # run the jobs in this process instead of queueing them for workers
    # How the outbox's subtitles are cut: (SWESCRIBE_SUBTITLE_MAX_LINE_CHARS, SWESCRIBE_SUBTITLE_MAX_LINES).
    subtitle_lines: tuple[int, int] = (42, 2)


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True, help="Keep watching DIR/inbox until stopped (Ctrl-C, SIGTERM).")
@click.option(
    "--settle-s",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds a file's size and mtime must stay unchanged before it is taken (default: SWESCRIBE_INGEST_SETTLE_S).",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr (one pass).")
@click.option(
    "--local", is_flag=True, help="Transcribe in this process (no broker or worker needed) instead of queueing for gpu workers."
)
def ingest(folder: Path, watch: bool, settle_s: float | None, progress: bool, local: bool) -> None:
    """Transcribe the recordings in DIR/inbox into DIR/outbox; recordings go to done/ or failed/.

    Job options come from DIR/swescribe.toml or swescribe.json (language, model, prompt,
    hotwords, webhook_url, diarize, summarize). One pass waits for its jobs; exit 1 if a file
    failed, 2 if the folder or its options cannot be used or no worker consumes the gpu queue
    (start one, or use --local).
    """
    settings = get_settings()
    request = IngestRequest(
        folder=folder,
        watch=watch,
        settle_s=settings.ingest_settle_s if settle_s is None else settle_s,
        poll_interval_s=settings.ingest_poll_interval_s,
        show_progress=progress,
        max_audio_s=settings.max_audio_hours * 3600,
        local=local,
        subtitle_lines=(settings.subtitle_max_line_chars, settings.subtitle_max_lines),
    )
    sys.exit(run_ingest(request, settings))


def check_folder(folder: Path, settings: Settings) -> tuple[FolderLayout, JobOptions]:
    """The folder prepared and its options checked; IngestFolderError / FolderConfigError say why not."""
    from workers.ingest.folder_config import FolderConfigError, load_folder_config
    from workers.intake.options import OptionsRefused, check_allowed

    layout = prepare_folder(folder)
    options = load_folder_config(layout.root)
    try:
        check_allowed(options, settings)
    except OptionsRefused as e:
        raise FolderConfigError(f"{layout.root}: {e}") from e
    return layout, options


def _with_folder_retention(layout: FolderLayout, between: Callable[[], None]) -> Callable[[], None]:
    """`between` with the folder's own retention of outbox/ and done/ swept now and then
    (workers/ingest/retention.py); a sweep that fails is logged and tried again later."""
    from workers.ingest.folder_config import load_folder_retention
    from workers.ingest.retention import SWEEP_INTERVAL_S, every, sweep

    retention = load_folder_retention(layout.root)

    def sweep_logged() -> None:
        try:
            sweep(layout, retention)
        except OSError as e:
            logger.warning("folder retention: sweep failed, trying again later: %s", e)

    sweeper = every(SWEEP_INTERVAL_S, sweep_logged)

    def both() -> None:
        sweeper()
        between()

    return both


def run_ingest(request: IngestRequest, settings: Settings) -> int:
    from workers.ingest.folder_config import FolderConfigError

    try:
        layout, options = check_folder(request.folder, settings)
    except (IngestFolderError, FolderConfigError) as e:
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_UNUSABLE

    from sqlalchemy.exc import SQLAlchemyError

    from workers.ingest.submit import Submitter, owner_for
    from workers.intake.submit import Intake
    from workers.store.db import session_factory
    from workers.store.migrate import upgrade
    from workers.store.storage import storage_from_settings
    from workers.tasks.celery_app import make_celery
    from workers.tasks.names import send_ticket

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
    if request.local:
        from workers.runners.in_process import InProcessQueues

        queues = InProcessQueues(settings, sessions, storage)
        intake, between_polls = Intake(sessions, storage, queues.enqueue_transcription), queues.run_pending
    else:
        celery = make_celery(settings)
        watch = WorkerWatch(celery, settings, fatal=not request.watch)
        if not watch.check_now() and not request.watch:
            click.echo(f"swescribe ingest: {watch.missing_message()}", err=True)
            return EXIT_UNUSABLE
        intake = Intake(sessions, storage, functools.partial(send_ticket, celery))
        between_polls = watch.check_now_and_then
    between_polls = _with_folder_retention(layout, between_polls)
    submitter = Submitter(intake, owner=owner, options=options)
    try:
        with folder_lock(layout):
            if request.watch:
                return _watch(layout, submitter, sessions, storage, request, between_polls)
            return _once(layout, submitter, sessions, storage, request, between_polls)
    except IngestFolderError as e:
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_UNUSABLE
    except NoWorker as e:
        click.echo(
            f"swescribe ingest: stopped: {e}; recordings taken so far stay in .processing and the next run resumes them", err=True
        )
        return EXIT_SOME_FAILED


class NoWorker(Exception):
    """No worker has consumed the gpu queue for a while: waiting on would be forever."""


class WorkerWatch:
    """Asks the broker which workers consume the gpu queue: before recordings are taken, then
    every CHECK_INTERVAL_S while results are awaited. A pass stops (NoWorker) when none has
    answered MISSES_TO_STOP times in a row; a watcher only says so, once, and goes on (files wait queued)."""

    CHECK_INTERVAL_S = 30.0
    ANSWER_TIMEOUT_S = 5.0
    # While waiting, this many silent checks in a row (a minute and more) end the pass: a worker
    # busy on a loaded machine can miss one deadline, a stopped one misses them all.
    MISSES_TO_STOP = 3

    def __init__(self, celery, settings: Settings, fatal: bool):
        self.celery, self.settings, self.fatal = celery, settings, fatal
        self.last_check = 0.0
        self.misses = 0
        self.missing: list[str] = []  # the lanes' queues no worker consumed at the last check

    def missing_message(self) -> str:
        from workers.settings import url_for_display

        lanes = ", ".join(self.missing) or "gpu, gpu-bulk"
        return (
            f"no worker consumes the gpu queue ({lanes}) at {url_for_display(self.settings.redis_url)}: start one with "
            "`swescribe worker --queues gpu` (or the whole local stack with `swescribe up`), "
            "or transcribe in this process with `swescribe ingest DIR --local`"
        )

    def check_now(self) -> bool:
        import time

        from workers.tasks.consumers import consumers_by_queue
        from workers.tasks.names import LANE_QUEUES

        # Both lanes: a folder's jobs are bulk unless its swescribe.toml says normal. Two tries:
        # a worker busy on a loaded machine may miss one short deadline. A broker that cannot be
        # asked (None) counts as found: queueing then fails and says so itself.
        for _ in range(2):
            consumers = consumers_by_queue(self.celery, self.ANSWER_TIMEOUT_S)
            self.missing = [] if consumers is None else [q for q in LANE_QUEUES["all"] if not consumers.get(q)]
            if not self.missing:
                break
        found = not self.missing
        self.last_check = time.monotonic()
        was_missing = self.misses > 0
        self.misses = 0 if found else self.misses + 1
        if not found and not was_missing and not self.fatal:
            click.echo(f"swescribe ingest: warning: {self.missing_message()}; recordings are queued until one starts", err=True)
        if found and was_missing and not self.fatal:
            click.echo("swescribe ingest: a gpu worker consumes the queue again", err=True)
        return found

    def check_now_and_then(self) -> None:
        import time

        if time.monotonic() - self.last_check < self.CHECK_INTERVAL_S:
            return
        if not self.check_now() and self.fatal and self.misses >= self.MISSES_TO_STOP:
            raise NoWorker(self.missing_message())


def _once(layout, submitter, sessions, storage, request: IngestRequest, between_polls) -> int:
    from sqlalchemy.exc import SQLAlchemyError
    from tqdm import tqdm

    from workers.ingest.runner import SubmitFailed
    from workers.store.storage import StorageError

    bar = tqdm(total=0, unit="file", desc="ingest", file=sys.stderr, disable=not request.show_progress)

    def outcome(o: Outcome) -> None:
        bar.update(1)
        if not o.ok:
            tqdm.write(f"failed: {printable(o.name)}: {o.detail}", file=sys.stderr)

    def started(total: int) -> None:
        bar.total = bar.n + total
        bar.refresh()

    ingester = _ingester(layout, submitter, sessions, storage, request, outcome)
    try:
        still_writing = ingester.run_once(
            poll_interval_s=min(request.poll_interval_s, 0.5), on_started=started, between_polls=between_polls
        )
    except SubmitFailed as e:
        bar.close()
        click.echo(f"swescribe ingest: {e}", err=True)
        return EXIT_SOME_FAILED
    except (SQLAlchemyError, StorageError) as e:
        bar.close()
        click.echo(
            f"swescribe ingest: stopped: {e}; recordings taken so far stay in .processing and the next run resumes them", err=True
        )
        return EXIT_SOME_FAILED
    bar.close()
    done = sum(o.ok for o in ingester.outcomes)
    failed = len(ingester.outcomes) - done
    line = f"ingested {len(ingester.outcomes)} file(s) from {layout.root}: {done} done, {failed} failed"
    if still_writing:
        line += f"; {len(still_writing)} still being written, left for the next run"
    click.echo(line, err=True)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _watch(layout, submitter, sessions, storage, request: IngestRequest, between_steps) -> int:
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def outcome(o: Outcome) -> None:
        state = "done" if o.ok else f"failed: {o.detail}"
        click.echo(f"swescribe ingest: {printable(o.name)} -> {o.audio_to} ({state})", err=True)

    click.echo(f"swescribe ingest: watching {layout.inbox} (settle {request.settle_s:g} s)", err=True)
    _ingester(layout, submitter, sessions, storage, request, outcome).watch(stop, request.poll_interval_s, between_steps)
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


def _ingester(layout, submitter, sessions, storage, request: IngestRequest, on_outcome):
    """The folder's Ingester, the same for one pass and for --watch."""
    from workers.ingest.runner import Ingester

    return Ingester(
        layout,
        submitter,
        sessions,
        storage,
        request.settle_s,
        on_outcome=on_outcome,
        max_audio_s=request.max_audio_s,
        subtitles=_subtitles(request),
    )


def _subtitles(request: IngestRequest):
    from workers.transcript.subtitles import SubtitleOptions

    max_line_chars, max_lines = request.subtitle_lines
    return SubtitleOptions(max_line_chars=max_line_chars, max_lines=max_lines)
