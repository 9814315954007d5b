"""How long a watched folder keeps what it has finished with: its own setting, in its config
file beside the job options (tenant retention does not reach the operator's folders):

    retention_outbox_days = 30   # transcripts and summaries in outbox/
    retention_done_days = 7      # recordings in done/

Absent, the folder keeps them (as before these settings existed). A file's age counts from
when it arrived in the subfolder: its inode change time, which the move into done/ sets,
or its modification time when that is later (a recording keeps the time it was recorded).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workers.ingest.layout import FolderLayout

logger = logging.getLogger(__name__)

RETENTION_KEYS = ("retention_outbox_days", "retention_done_days")
SECONDS_PER_DAY = 86_400
# How often a watcher sweeps: deleting by the day needs no finer clock.
SWEEP_INTERVAL_S = 600.0


class FolderRetentionError(ValueError):
    pass


@dataclass(frozen=True)
class FolderRetention:
    outbox_days: int | None = None  # None: kept
    done_days: int | None = None


def retention_from(data: dict, source: str) -> FolderRetention:
    """The retention keys of a parsed config file (the caller removes them before the job
    options are checked)."""
    values: dict[str, int | None] = {}
    for key in RETENTION_KEYS:
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000):
            raise FolderRetentionError(f"{source}: {key} must be a whole number of days from 0 to 100000")
        values[key] = value
    return FolderRetention(values["retention_outbox_days"], values["retention_done_days"])


def sweep(layout: FolderLayout, retention: FolderRetention, now: Callable[[], float] = time.time) -> list[str]:
    """Delete the outbox's and done/'s files older than the folder keeps them; returns their
    paths relative to the folder (for tests; the log says only how many, file names can be
    personal data). Missing files are fine: a second sweep, or the operator, got there first."""
    deleted: list[str] = []
    at = now()
    for folder, days in ((layout.outbox, retention.outbox_days), (layout.done, retention.done_days)):
        if days is None or not folder.is_dir():
            continue
        bound = at - days * SECONDS_PER_DAY
        for path in folder.iterdir():
            if _arrived(path) < bound and path.is_file() and not path.is_symlink():
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                deleted.append(str(path.relative_to(layout.root)))
    if deleted:
        logger.info("folder retention: deleted %d files from outbox/ and done/", len(deleted))
    return deleted


def _arrived(path: Path) -> float:
    try:
        stat = os.lstat(path)
    except FileNotFoundError:
        return float("inf")
    return max(stat.st_mtime, stat.st_ctime)


def every(interval_s: float, action: Callable[[], object], clock: Callable[[], float] = time.monotonic) -> Callable[[], None]:
    """`action` at most once per `interval_s` when the returned callable is called (from a
    watcher's loop); the first call runs it."""
    last = [float("-inf")]

    def maybe() -> None:
        if clock() - last[0] >= interval_s:
            last[0] = clock()
            action()

    return maybe
