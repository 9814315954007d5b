"""Resolve a model the way `swescribe transcribe` does and write it as JSON.

Writes {"name", "path", "revision", "device", "compute_type", "faster_whisper", "ctranslate2"}.
Resolution uses the same SWESCRIBE_* settings as the CLI, so the plain faster-whisper run can
load exactly the folder, device and compute type swescribe will use.

It also reads the weights once: the offline model is assembled on first use and the file
lands in the page cache, so neither timed run pays for a cold disk or a one-off assembly.

    python bench/asr/model_info.py --model whisper-base-offline --out model.json
"""

from __future__ import annotations

import argparse
import json
import sys

import ctranslate2
import faster_whisper

from workers.pipeline.asr_model import DeviceOptions, pick_device
from workers.pipeline.model_registry import HubOptions, resolve_model
from workers.settings import get_settings

_READ_CHUNK_BYTES = 8 * 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    settings = get_settings()
    hub = HubOptions(
        cache_dir=settings.model_cache_dir,
        token=settings.hf_token.get_secret_value() if settings.hf_token else None,
        probe_timeout_s=settings.hub_timeout_s,
    )
    source = resolve_model(args.model, cache_dir=settings.models_dir, hub=hub)
    device, compute_type = pick_device(DeviceOptions(settings.asr_device, settings.asr_compute_type, settings.asr_cpu_threads))
    _warm_page_cache(source.path / "model.bin")
    info = {
        "name": source.name,
        "path": str(source.path),
        "revision": source.revision,
        "device": device,
        "compute_type": compute_type,
        "faster_whisper": faster_whisper.__version__,
        "ctranslate2": ctranslate2.__version__,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(info, f)
    return 0


def _warm_page_cache(path) -> None:
    with open(path, "rb") as f:
        while f.read(_READ_CHUNK_BYTES):
            pass


if __name__ == "__main__":
    sys.exit(main())
