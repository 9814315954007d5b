"""Files replaced whole: a reader sees the old file or the new one, never half of one.

Every file the project writes for others to read (CLI outputs, the ingest outbox and its
claims, local storage objects, the assembled summary model) goes through `atomic_writer`, so
the rules live in one place: a hidden temporary in the target's own folder (a rename is atomic
only within one filesystem), fsync before the rename (else a power cut right after it can leave
an empty file in place), and no temporary left behind when anything fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Temporaries are ".<random>.part": hidden, so folder scans skip them, and named without the
# target's name, which may already be as long as the filesystem allows.
TEMP_SUFFIX = ".part"


def is_temporary(path: Path) -> bool:
    """Whether `path` is one of atomic_writer's temporaries (left over if the process died)."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` when the block ends; an exception in the block leaves
    `path` as it was. The folder must exist."""
    tmp = path.parent / f".{secrets.token_hex(8)}{TEMP_SUFFIX}"
    # O_EXCL: two writers of one path never share a temporary (holds on NFS too). Mode 0o666
    # lets the umask decide, as for any new file; mkstemp's fixed 0o600 would hide the file from
    # services running as another user.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` (text is written as UTF-8)."""
    with atomic_writer(path) as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)
