"""Evaluation manifests: JSON lines, one recording each, with its reference text.

The same format serves the synthetic fixtures, the real clips (audio_fixtures/real_speech) and
an operator's own recordings (SweDia, NST, their own calls), so every set is measured the same
way. Required keys: id, file (relative to the manifest), text. Optional: dialect_area,
condition, synthetic, expect_words (false for silence/noise/tone: scored by the words
produced, which must be none), group (default: the manifest's folder name).

Groups keep sets apart in the report, so `load_manifests` refuses anything that would merge
two of them silently: a group is one manifest's, never real and synthetic speech together,
and ids are unique across all the manifests of a run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
    manifest: Path | None = None


def load_manifest(manifest: Path, default_group: str | None = None) -> list[EvalEntry]:
    """The entries of one manifest; `default_group` (else the folder name) where `group` is unset."""
    if not manifest.is_file():
        raise ManifestError(f"{manifest}: no such manifest")
    default_group = default_group or manifest.resolve().parent.name
    entries = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            entries.append(_entry(manifest, number, line, default_group))
    if not entries:
        raise ManifestError(f"{manifest}: no entries")
    _check_unique_ids(entries)
    _check_groups_not_mixed(entries)
    return entries


def load_manifests(manifests: Sequence[Path]) -> list[EvalEntry]:
    """The entries of several manifests, each set its own group (see the module docstring)."""
    resolved = [m.resolve() for m in manifests]
    if len(set(resolved)) != len(resolved):
        raise ManifestError("the same manifest is given twice")
    names = default_group_names(manifests)
    per_manifest = [load_manifest(m, names[r]) for m, r in zip(manifests, resolved)]
    _check_groups_belong_to_one_manifest(per_manifest)
    entries = [e for loaded in per_manifest for e in loaded]
    _check_unique_ids(entries)
    return entries


def default_group_names(manifests: Sequence[Path]) -> dict[Path, str]:
    """Resolved manifest path -> group name: its folder's name, or as much of its path as it
    takes to tell it from other manifests in folders of the same name (a/calls, b/calls)."""
    resolved = [m.resolve() for m in manifests]
    return {m: _shortest_distinct_name(m, [o for o in resolved if o != m]) for m in resolved}


def _shortest_distinct_name(manifest: Path, others: list[Path]) -> str:
    taken = {name for other in others for name in _candidate_names(other)}
    for candidate in _candidate_names(manifest):
        if candidate not in taken:
            return candidate
    return str(manifest)


def _candidate_names(manifest: Path) -> list[str]:
    # Growing from the folder name up the path; two manifests in one folder differ only by
    # their file names, so "folder/stem" comes last.
    folders = manifest.parent.parts
    return ["/".join(folders[-n:]) for n in range(1, len(folders) + 1)] + [f"{manifest.parent.name}/{manifest.stem}"]


def _entry(manifest: Path, number: int, line: str, default_group: str) -> EvalEntry:
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
            manifest=manifest,
        )
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise ManifestError(f"{manifest}:{number}: not a manifest entry ({type(e).__name__}: {e})") from e
    if not entry.path.is_file():
        raise ManifestError(f"{manifest}:{number}: {entry.path} does not exist")
    if entry.expect_words and not entry.text.strip():
        raise ManifestError(f"{manifest}:{number}: entry {entry.id} expects words but has no reference text")
    return entry


def _check_unique_ids(entries: list[EvalEntry]) -> None:
    # Results, the worst list and the per-recording rows are keyed by id.
    seen: dict[str, EvalEntry] = {}
    for entry in entries:
        first = seen.setdefault(entry.id, entry)
        if first is not entry:
            where = entry.manifest if first.manifest == entry.manifest else f"{first.manifest} and {entry.manifest}"
            raise ManifestError(f"{where}: duplicate ids: {entry.id!r}")


def _check_groups_not_mixed(entries: list[EvalEntry]) -> None:
    # A group's figure must be read as either real or synthetic speech, never a blend.
    kinds: dict[str, set[bool]] = {}
    for entry in entries:
        kinds.setdefault(entry.group, set()).add(entry.synthetic)
    mixed = sorted(g for g, k in kinds.items() if len(k) > 1)
    if mixed:
        raise ManifestError(
            f"{entries[0].manifest}: group {mixed[0]!r} mixes synthetic and real recordings; give them different `group` keys"
        )


def _check_groups_belong_to_one_manifest(per_manifest: list[list[EvalEntry]]) -> None:
    owner: dict[str, Path | None] = {}
    for entries in per_manifest:
        for group in {e.group for e in entries}:
            first = owner.setdefault(group, entries[0].manifest)
            if first != entries[0].manifest:
                raise ManifestError(
                    f"group {group!r} comes from both {first} and {entries[0].manifest}; "
                    "a group is one manifest's: rename one (`group` key) or merge the files"
                )
