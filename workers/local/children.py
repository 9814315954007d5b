"""Processes the local stack starts end with it, however it ends.

`swescribe up` stops its children in order on Ctrl-C; but killed outright (SIGKILL, the OOM
killer, a crashed terminal) it cannot, and children in sessions of their own would go on
without it: workers consuming the queue of a stack that is gone, an API holding its port.
Linux delivers a signal to a child whose parent dies when the child asks for it (prctl).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For subprocess.Popen(preexec_fn=...): SIGTERM this process when its parent dies (Linux;
    elsewhere nothing). Runs in the child between fork and exec, so it does nothing that could
    deadlock there: one libc call and a check."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
