"""Run a command as a child process and measure it: wall time, CPU time, peak RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_S = 60.0


@dataclass(frozen=True)
class ChildRun:
    wall_s: float
    cpu_s: float  # user + system time of the child
    peak_rss_mb: float
    returncode: int


def run_child(cmd: list[str], env: dict[str, str], cwd: Path, log_path: Path, log: Callable[[str], None] = print) -> ChildRun:
    """Run `cmd` to completion, its stdout and stderr going to `log_path`.

    The child is reaped with os.wait4 so its own resource usage comes back with its exit
    status; ru_maxrss is in KB on Linux. Wall time includes process start, imports and model
    load: that is what a user of either tool waits for.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    done = threading.Event()
    started = time.perf_counter()
    heartbeat = threading.Thread(target=_heartbeat, args=(done, started, log), daemon=True)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        heartbeat.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            done.set()
    wall = time.perf_counter() - started
    # Reaped here, so tell Popen, or it would try to wait for the pid again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
    )


def own_peak_rss_mb() -> float:
    """This process's peak RSS: a floor under every child's ru_maxrss (Linux carries it over)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _heartbeat(done: threading.Event, started: float, log: Callable[[str], None]) -> None:
    while not done.wait(HEARTBEAT_S):
        log(f"  ... still running, {time.perf_counter() - started:.0f} s")
