"""Progress reporting: a hook that receives the fraction of work done, 0.0 to 1.0."""

from __future__ import annotations

from collections.abc import Callable

ProgressHook = Callable[[float], None]


def no_progress(fraction: float) -> None:
    """Default hook: report nowhere."""


def sub_range(hook: ProgressHook, start: float, end: float) -> ProgressHook:
    """A hook for one stage that maps its own 0..1 onto [start, end] of the parent's range,
    and never reports less than it already has, so the parent's progress only rises."""
    highest = start

    def report(fraction: float) -> None:
        nonlocal highest
        value = start + (end - start) * min(max(fraction, 0.0), 1.0)
        if value > highest:
            highest = value
            hook(value)

    return report
