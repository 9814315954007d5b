"""The accuracy gates' figures per CTranslate2 compute type, on this machine's CPU.

CTranslate2 picks its CPU kernels by vendor and instruction set (MKL on Intel, oneDNN
elsewhere; AVX-512 / AVX2 code paths), and the int8 ones in particular give different words on
different CPUs. This runs exactly the decodings the gates score (`tests/accuracy/gated_run.py`:
the batched fixture pass, the real clips one by one and packed) once per compute type, and
times each, so a bound or a default compute type can be set from figures of both CPU families.

    nice -n 10 python bench/asr/compute_types.py --out /tmp/compute_types.json
    nice -n 10 python bench/asr/compute_types.py --types int8,float32

Writes JSON: the CPU (model name, vendor, the SIMD flags CTranslate2 dispatches on), the date,
library versions, any CT2_* environment variables and, per compute type, every gated figure
(WER, CER, hypothesis words / reference words), the real clips' hypotheses and seconds per
clip for each pass. Timings move with the machine's load; compare types within one run, or
better, in alternation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import ctranslate2
import faster_whisper

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the gated runs live in tests/, which is not installed

from tests.accuracy.gated_run import (  # noqa: E402
    by,
    cpu,
    fixture_run,
    is_speech,
    rates,
    real_speech_packed,
    real_speech_sequential,
    word_ratio,
)
from tests.conftest import FIXTURES_DIR, REAL_SPEECH_DIR, load_manifest  # noqa: E402
from workers.pipeline.asr_model import DeviceOptions, load_model  # noqa: E402
from workers.pipeline.model_registry import resolve_model  # noqa: E402


def figures(run, keep=lambda e: True) -> dict:
    r = rates(run, keep)
    return {"wer": r.wer, "cer": r.cer, "word_ratio": round(word_ratio(run, keep), 4), "reference_words": r.reference_words}


def timed(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - started


def measure_type(compute_type: str, cache: Path, fixtures: list[dict], real: list[dict]) -> dict:
    # The same model and threads as the offline_model fixture, only the compute type differs.
    model, load_s = timed(
        load_model,
        resolve_model("whisper-base-offline", cache_dir=cache),
        DeviceOptions(device="cpu", compute_type=compute_type, cpu_threads=2),
    )
    fixture, fixture_s = timed(fixture_run, model, fixtures)
    sequential, sequential_s = timed(real_speech_sequential, model, real)
    packed, packed_s = timed(real_speech_packed, model, real)
    speech = [e for e, _ in fixture if is_speech(e)]
    return {
        "compute_type": model.info.compute_type,
        "load_s": round(load_s, 2),
        "fixtures": {
            "overall": figures(fixture),
            "standard": figures(fixture, lambda e: e["dialect_area"] == "standard"),
            "standard_clean": figures(fixture, lambda e: e["dialect_area"] == "standard" and e["condition"] == "clean"),
            "by_dialect_area": {k: figures(fixture, lambda e, k=k: e["dialect_area"] == k) for k in by(fixture, "dialect_area")},
            "by_condition": {k: figures(fixture, lambda e, k=k: e["condition"] == k) for k in by(fixture, "condition")},
            "words_on_non_speech": {e["id"]: h for e, h in fixture if not is_speech(e)},
            "seconds_per_clip": round(fixture_s / len(fixture), 3),
            "speech_clips": len(speech),
        },
        "real_speech_sequential": {
            **figures(sequential),
            "seconds_per_clip": round(sequential_s / len(real), 3),
            "hypotheses": {e["id"]: h for e, h in sequential},
        },
        "real_speech_packed": {
            **figures(packed),
            "seconds_per_clip": round(packed_s / len(real), 3),
            "hypotheses": {e["id"]: h for e, h in packed},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", default="int8,int8_float32,float32", help="comma-separated CTranslate2 compute types")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    fixtures = load_manifest(FIXTURES_DIR / "manifest.jsonl")
    real = load_manifest(REAL_SPEECH_DIR / "manifest.jsonl")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "cpu": cpu(),
        "load_average_before": os.getloadavg(),
        "ctranslate2": ctranslate2.__version__,
        "faster_whisper": faster_whisper.__version__,
        "supported_compute_types": sorted(ctranslate2.get_supported_compute_types("cpu")),
        "env": {k: v for k, v in os.environ.items() if k.startswith("CT2_")},
        "model": "whisper-base-offline, 2 CPU threads",
        "compute_types": {},
    }
    with tempfile.TemporaryDirectory() as cache:
        for compute_type in args.types.split(","):
            print(f"{compute_type} ...", file=sys.stderr, flush=True)
            report["compute_types"][compute_type] = measure_type(compute_type, Path(cache), fixtures, real)
            report["load_average_after"] = os.getloadavg()
            args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            r = report["compute_types"][compute_type]
            print(
                f"{compute_type}: real seq {r['real_speech_sequential']['wer']} packed {r['real_speech_packed']['wer']} "
                f"fixtures WER {r['fixtures']['overall']['wer']} CER {r['fixtures']['overall']['cer']}",
                file=sys.stderr,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
