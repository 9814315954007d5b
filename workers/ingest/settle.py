"""When a file in the inbox counts as fully written: its size and modification time unchanged
for `settle_s` seconds between scans. A copy in progress changes at least one of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FileStat:
    size_bytes: int
    mtime_ns: int


class SettleTracker:
    """Remembers what each scan saw; `observe` returns the names that have settled."""

    def __init__(self, settle_s: float) -> None:
        if settle_s < 0:
            raise ValueError("settle time must be >= 0 s")
        self.settle_s = settle_s
        # name -> (what was seen, monotonic time since when it has looked like that)
        self._seen: dict[str, tuple[FileStat, float]] = {}

    def observe(self, stats: Mapping[str, FileStat], now: float) -> list[str]:
        """Record one scan (taken at monotonic time `now`); names unchanged for settle_s, sorted.

        A name needs two scans at least, so a file is never taken on the scan that first sees it.
        Names missing from `stats` are forgotten (moved away or deleted).
        """
        seen: dict[str, tuple[FileStat, float]] = {}
        settled = []
        for name, stat in stats.items():
            previous = self._seen.get(name)
            since = previous[1] if previous is not None and previous[0] == stat else now
            seen[name] = (stat, since)
            if previous is not None and now - since >= self.settle_s:
                settled.append(name)
        self._seen = seen
        return sorted(settled)

    def waiting(self) -> list[str]:
        """Names seen but not yet settled or taken."""
        return sorted(self._seen)

    def forget(self, name: str) -> None:
        self._seen.pop(name, None)
