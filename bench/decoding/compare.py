"""Compare decoding options on the synthetic fixtures and the real Swedish clips.

Every configuration runs the real pipeline (`transcribe_file`, sequential decoding, as
`swescribe eval` does) over the same recordings, with the random seed fixed so that the
temperature-fallback samples are the same from run to run. Real and synthetic speech are
scored apart; real speech is what decides.

    nice -n 10 python bench/decoding/compare.py                    # 8 real + 14 synthetic + 3 non-speech
    nice -n 10 python bench/decoding/compare.py --per-area 0       # every synthetic fixture
    nice -n 10 python bench/decoding/compare.py --only default,beam1 --out /tmp/cmp.json

Writes a JSON file (per configuration: options, WER/CER real and synthetic, words on
non-speech, seconds, each recording's hypothesis) and prints the Markdown table that
docs/accuracy/decoding.md records.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import ctranslate2
from tqdm import tqdm

from workers.evaluation.manifests import EvalEntry, load_manifest
from workers.evaluation.normalize import normalize_swedish
from workers.evaluation.scoring import error_rates
from workers.pipeline.run import transcribe_file
from workers.pipeline.transcribe import TranscribeOptions, VadSettings
from workers.runners.configured_models import load_configured_model
from workers.settings import Settings

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "audio_fixtures" / "manifest.jsonl"
REAL_SPEECH = Path(os.environ.get("SWESCRIBE_REAL_SPEECH_DIR", REPO / "audio_fixtures" / "real_speech")) / "manifest.jsonl"

# Authority names as the fixtures say them; the same list as prompt and as hotwords.
AUTHORITIES = (
    "Försäkringskassan, Skatteverket, Länsstyrelsen, Polismyndigheten, Migrationsverket, Kronofogden, tingsrätten, hovrätten"
)
PROMPT = f"Samtal med {AUTHORITIES}. Personnummer, datum och klockslag."

BASE = TranscribeOptions()
CONFIGS: dict[str, TranscribeOptions] = {
    "default": BASE,
    "beam1": replace(BASE, beam_size=1),
    "vad_off": replace(BASE, vad=None),
    "vad_0.35": replace(BASE, vad=VadSettings(threshold=0.35)),
    "vad_0.5_pad200_sil500": replace(BASE, vad=VadSettings(threshold=0.5, min_silence_duration_ms=500, speech_pad_ms=200)),
    "fallback_off": replace(BASE, temperatures_fallback=(0.0,)),
    "condition_prev": replace(BASE, condition_on_previous_text=True),
    "prompt": replace(BASE, initial_prompt=PROMPT),
    "hotwords": replace(BASE, hotwords=AUTHORITIES.replace(",", "")),
}


def stratified(entries: list[EvalEntry], per_area: int) -> list[EvalEntry]:
    """`per_area` speech fixtures of each dialect area, conditions spread as evenly as possible.

    Deterministic: within an area the least-used condition so far wins, ties by manifest order.
    """
    speech = [e for e in entries if e.expect_words]
    if per_area <= 0:
        return speech
    chosen: list[EvalEntry] = []
    used: Counter[str] = Counter()
    for area in sorted({e.dialect_area for e in speech}):
        pool = [e for e in speech if e.dialect_area == area]
        for _ in range(min(per_area, len(pool))):
            pick = min(pool, key=lambda e: (used[e.condition], pool.index(e)))
            pool.remove(pick)
            chosen.append(pick)
            used[pick.condition] += 1
    return chosen


def run_config(model, options: TranscribeOptions, entries: list[EvalEntry], desc: str) -> dict:
    ctranslate2.set_random_seed(1234)  # fallback temperatures sample: same seed, same samples
    hyps, started = [], time.perf_counter()
    for entry in tqdm(entries, desc=desc, unit="rec", file=sys.stderr, leave=False):
        hyps.append(transcribe_file(model, entry.path, options).text)
    seconds = time.perf_counter() - started

    def rates(pick):
        pairs = [(e.text, h) for e, h in zip(entries, hyps) if pick(e)]
        r = error_rates([p[0] for p in pairs], [p[1] for p in pairs])
        return {"wer": round(r.wer, 4), "cer": round(r.cer, 4), "recordings": len(pairs)}

    return {
        "options": _describe(options),
        "real": rates(lambda e: e.expect_words and not e.synthetic),
        "synthetic": rates(lambda e: e.expect_words and e.synthetic),
        "words_on_non_speech": sum(len(normalize_swedish(h).split()) for e, h in zip(entries, hyps) if not e.expect_words),
        "seconds": round(seconds, 1),
        "hypotheses": {e.id: h for e, h in zip(entries, hyps)},
    }


def table(results: dict) -> str:
    lines = [
        "| config | real WER | real CER | synthetic WER | synthetic CER | words on non-speech | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['real']['wer']:.1%} | {r['real']['cer']:.1%} | {r['synthetic']['wer']:.1%} "
            f"| {r['synthetic']['cer']:.1%} | {r['words_on_non_speech']} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines).replace("%", " %")


def _describe(options: TranscribeOptions) -> dict:
    d = asdict(options)
    d["temperatures_fallback"] = list(options.temperatures_fallback)
    d.pop("guards")
    return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated config names (default: all)")
    parser.add_argument("--per-area", type=int, default=2, help="synthetic fixtures per dialect area; 0 = all")
    parser.add_argument("--model", default="whisper-base-offline")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "accuracy" / "decoding.json")
    parser.add_argument("--merge", action="store_true", help="keep the other configs already in --out (runs split in parts)")
    args = parser.parse_args(argv)

    names = args.only.split(",") if args.only else list(CONFIGS)
    unknown = set(names) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; known: {list(CONFIGS)}")
    fixtures = load_manifest(FIXTURES)
    entries = load_manifest(REAL_SPEECH) + stratified(fixtures, args.per_area) + [e for e in fixtures if not e.expect_words]
    model = load_configured_model(args.model, Settings())

    results = {}
    if args.merge and args.out.is_file():
        results = json.loads(args.out.read_text(encoding="utf-8"))["configs"]
    for name in tqdm(names, desc="configs", unit="config", file=sys.stderr):
        results[name] = run_config(model, CONFIGS[name], entries, name)
        print(
            f"{name}: {json.dumps({k: v for k, v in results[name].items() if k not in ('hypotheses', 'options')})}",
            file=sys.stderr,
        )
        # Written after every config, so an interrupted comparison keeps what it measured.
        _write(args.out, model, entries, {n: results[n] for n in CONFIGS if n in results})
    print(table({n: results[n] for n in CONFIGS if n in results}))
    return 0


def _write(out: Path, model, entries: list[EvalEntry], results: dict) -> None:
    report = {
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_name()}",
        "model": asdict(model.info),
        "recordings": {"real": [e.id for e in entries if not e.synthetic], "synthetic": [e.id for e in entries if e.synthetic]},
        "configs": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.platform()


if __name__ == "__main__":
    sys.exit(main())
