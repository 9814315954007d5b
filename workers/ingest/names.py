"""File names in an ingest folder: which ones to take, and names that never overwrite."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

# Names browsers, scp/WinSCP, rsync, office tools and editors give files while they are being
# written; the final name appears only once the transfer is complete.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".download", ".!ut", "~")
# Linux allows 255 bytes per name; room is kept for " (NNN)" and ".summary.md".
MAX_STEM_BYTES = 200


def skip_reason(name: str) -> str | None:
    """Why a name in the inbox is not taken (None: take it once it has settled)."""
    if name.startswith("."):
        return "hidden file"
    lowered = name.lower()
    for suffix in PARTIAL_SUFFIXES:
        if lowered.endswith(suffix):
            return f"partial upload ({suffix})"
    return None


def printable(name: str) -> str:
    """The name as text for messages and the job record: bytes that are not UTF-8 (kept by
    Python as surrogates) become U+FFFD, control characters become '?'."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


def split_name(name: str) -> tuple[str, str]:
    """("möte 1", ".m4a") from "möte 1.m4a"; the stem is cut to MAX_STEM_BYTES."""
    stem, suffix = os.path.splitext(name)
    if not stem:  # "..." or a name that is only an extension
        stem, suffix = name, ""
    raw = stem.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_STEM_BYTES:
        stem = raw[:MAX_STEM_BYTES].decode("utf-8", "ignore") or "recording"
    return stem, suffix


def free_stem(stem: str, suffixes: Iterable[str], taken: Callable[[str], bool]) -> str:
    """`stem`, or "stem (2)", "stem (3)", ...: the first for which no stem+suffix is taken."""
    suffixes = tuple(suffixes)
    candidate, number = stem, 1
    while any(taken(candidate + suffix) for suffix in suffixes):
        number += 1
        candidate = f"{stem} ({number})"
    return candidate
