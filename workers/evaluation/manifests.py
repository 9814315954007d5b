"""Evaluation manifests: JSON lines, one recording each, with its reference text.

The same format serves the synthetic fixtures, ../shared/real_speech and an operator's own
recordings (SweDia, NST, their own calls), so every set is measured the same way. Required
keys: id, file (relative to the manifest), text. Optional: dialect_area, condition, synthetic,
expect_words (false for silence/noise/tone: scored by the words produced, which must be none),
group (default: the manifest's folder name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

UNKNOWN = "unknown"


class ManifestError(ValueError):
    """A manifest that cannot be used, with the file and line that is wrong."""


@dataclass(frozen=True)
class EvalEntry:
    id: str
    path: Path
    text: str
    group: str
    dialect_area: str
    condition: str
    synthetic: bool
    expect_words: bool


def load_manifest(manifest: Path) -> list[EvalEntry]:
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: no such manifest")
    entries = []
    default_group = manifest.resolve().parent.name
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            entry = EvalEntry(
                id=str(raw["id"]),
                path=manifest.parent / raw["file"],
                text=str(raw["text"]),
                group=str(raw.get("group") or default_group),
                dialect_area=str(raw.get("dialect_area") or UNKNOWN),
                condition=str(raw.get("condition") or UNKNOWN),
                synthetic=bool(raw.get("synthetic", False)),
                expect_words=bool(raw.get("expect_words", True)),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ManifestError(f"{manifest}:{number}: not a manifest entry ({type(e).__name__}: {e})") from e
        if not entry.path.is_file():
            raise ManifestError(f"{manifest}:{number}: {entry.path} does not exist")
        if entry.expect_words and not entry.text.strip():
            raise ManifestError(f"{manifest}:{number}: entry {entry.id} expects words but has no reference text")
        entries.append(entry)
    if not entries:
        raise ManifestError(f"{manifest}: no entries")
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{manifest}: duplicate ids")
    return entries
