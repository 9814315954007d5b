"""The ingest folder on disk: its subfolders, the lock that keeps one ingester per folder, and
the no-overwrite move that, with workers.transcript.files.write_atomically, everything else is
built from."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

SUBFOLDERS = ("inbox", "outbox", "done", "failed", ".processing")


class IngestFolderError(Exception):
    """The folder cannot be used (missing, not writable, a subfolder is a link, locked)."""


@dataclass(frozen=True)
class FolderLayout:
    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def done(self) -> Path:
        return self.root / "done"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    @property
    def processing(self) -> Path:
        return self.root / ".processing"

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def inside(self, relative: str) -> Path:
        """A path stored in a state record, refused unless it stays inside the folder."""
        path = self.root / relative
        if os.path.isabs(relative) or ".." in Path(relative).parts:
            raise IngestFolderError(f"state record names a path outside {self.root}: {relative!r}")
        return path


def prepare_folder(folder: Path) -> FolderLayout:
    """Check `folder` and create its subfolders. Every subfolder must be a real folder inside
    it: a link could make results or moved recordings land somewhere else."""
    if not folder.exists():
        raise IngestFolderError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise IngestFolderError(f"{folder}: not a folder")
    layout = FolderLayout(folder.resolve())
    for name in SUBFOLDERS:
        path = layout.root / name
        if path.is_symlink():
            raise IngestFolderError(f"{path}: is a symbolic link; {name}/ must be a real folder inside {layout.root}")
        try:
            path.mkdir(exist_ok=True)
        except OSError as e:
            raise IngestFolderError(f"{path}: cannot create it: {e.strerror or e}") from e
        if not path.is_dir():
            raise IngestFolderError(f"{path}: exists but is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise IngestFolderError(f"{path}: not writable")
    return layout


@contextlib.contextmanager
def folder_lock(layout: FolderLayout):
    """Exclusive for one process; the kernel drops it when the process dies, even by SIGKILL."""
    lock = FileLock(layout.processing / ".lock", mode=0o644)
    try:
        # No waiting: a second ingester of the same folder stops at once with this error.
        lock.acquire(blocking=False)
    except Timeout as e:
        raise IngestFolderError(f"{layout.root}: another swescribe ingest is already working on this folder") from e
    try:
        yield
    finally:
        lock.release()


def move_no_overwrite(source: Path, target: Path) -> None:
    """Move within the folder; FileExistsError rather than replacing an existing file.

    link+unlink is atomic about the target on one filesystem (link never replaces); a file
    system without hard links gets a checked rename, safe because one process holds the lock.
    """
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.rename(source, target)
        return
    os.unlink(source)
