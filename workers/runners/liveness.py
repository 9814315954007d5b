"""Which process runs a job, and whether it is known to be gone or has gone silent.

A worker is named "host/pid-namespace/pid". A job whose worker ran on this host, in this pid
namespace, and whose process no longer exists can be taken back at once; any other worker
(another host or container) counts as gone only when its heartbeat is older than the staleness
bound. The pid namespace keeps two containers that share a host name (network_mode: host)
from judging each other's pids.
"""

from __future__ import annotations

import functools
import os
import socket
from datetime import datetime, timedelta

from workers.store.db import Job, as_utc, utcnow


@functools.lru_cache
def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""  # not Linux: no pid is ever judged, staleness alone decides


def current_worker() -> str:
    """This process's name as a job's worker (called in the process that runs the job)."""
    return f"{socket.gethostname()}/{_pid_namespace()}/{os.getpid()}"


def process_gone(pid: int) -> bool:
    """True when no process `pid` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The state follows the parenthesised command name, which may itself hold spaces.
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def worker_gone(worker: str | None) -> bool:
    """True only when `worker` is known dead: it ran here and its process has ended."""
    if not worker:
        return False
    parts = worker.rsplit("/", 2)
    if len(parts) != 3:
        return False
    host, namespace, pid = parts
    if not namespace or (host, namespace) != (socket.gethostname(), _pid_namespace()) or not pid.isdigit():
        return False
    return process_gone(int(pid))


def silent_since(stale_after_s: float, now: datetime | None = None) -> datetime:
    """A running job with no heartbeat after this time counts as abandoned."""
    return (now or utcnow()) - timedelta(seconds=stale_after_s)


def last_sign_of_life(job: Job) -> datetime:
    return as_utc(job.heartbeat_at or job.started_at or job.created_at)


def abandoned(job: Job, stale_after_s: float) -> bool:
    """Whether a running job's worker is gone or silent longer than `stale_after_s`."""
    return worker_gone(job.worker) or last_sign_of_life(job) < silent_since(stale_after_s)
