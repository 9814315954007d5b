"""Clustering settings of the offline diarizer (pyannote-offline) swept over real and synthetic voices.

For each conversation of audio_fixtures/real_voices (real human voices, conversations assembled
by script) and audio_fixtures/conversations (SYNTHETIC espeak-ng voices), the segmentation and
the speaker embeddings are computed once (pyannote's training cache) and the agglomerative
clustering is run for every threshold and minimum cluster size asked for; reported: DER (collar
0.25 s) and the number of speakers found, with the number of speakers not given.

    python bench/diarization/sweep.py [--thresholds 0.5,0.55,...] [--min-cluster-sizes 12] [--out FILE.json]

Prints a Markdown table per set and writes the figures as JSON (default
docs/diarization_sweep.json). The threshold chosen goes to OFFLINE_PARAMETERS in
workers/pipeline/diarization_model.py; docs/benchmarks.md records why.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import report  # noqa: E402  (bench/asr: machine description)

SETS = {
    "real voices": REPO / "audio_fixtures" / "real_voices",
    "synthetic voices": REPO / "audio_fixtures" / "conversations",
}
CPU_THREADS = 2


def conversations(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def sweep(thresholds: list[float], min_sizes: list[int], methods: list[str]) -> list[dict]:
    import torch

    from workers.evaluation.diarization import diarization_error, read_rttm
    from workers.pipeline.diarization_model import OFFLINE_PARAMETERS, load_diarizer, resolve_diarizer
    from workers.pipeline.diarize import diarization_from_tracks
    from workers.transcript.audio import decode_audio

    diarizer = load_diarizer(resolve_diarizer("pyannote-offline"), device="cpu", cpu_threads=CPU_THREADS)
    pipeline = diarizer.pipeline
    # Training mode keeps each file's segmentation and embeddings in the file dict, so only
    # the clustering runs again for each setting.
    pipeline.training = True
    rows = []
    for set_name, folder in SETS.items():
        for entry in conversations(folder):
            # The real voices come in two bands (telephone, wideband): one table each.
            band = f"{set_name}, {entry['sample_rate'] // 1000} kHz" if "sample_rate" in entry else set_name
            audio = decode_audio(folder / entry["file"])
            reference = read_rttm(folder / entry["rttm"])
            file = {
                "waveform": torch.from_numpy(audio.samples).unsqueeze(0),
                "sample_rate": audio.sample_rate_hz,
                "uri": entry["id"],
            }
            for method, min_size, threshold in itertools.product(methods, min_sizes, thresholds):
                params = copy.deepcopy(OFFLINE_PARAMETERS)
                params["clustering"].update(method=method, threshold=threshold, min_cluster_size=min_size)
                pipeline.instantiate(params)
                started = time.perf_counter()
                output = pipeline(file)
                exclusive = [(t.start, t.end, s) for t, _, s in output.exclusive_speaker_diarization.itertracks(yield_label=True)]
                found = diarization_from_tracks(exclusive, exclusive, audio.duration_s, diarizer.name)
                der = diarization_error(reference, found.turns)
                rows.append(
                    {
                        "set": band,
                        "id": entry["id"],
                        "voices": entry["num_speakers"],
                        "method": method,
                        "threshold": threshold,
                        "min_cluster_size": min_size,
                        "speakers_found": len(found.speakers),
                        "der": der.der,
                        "confusion_s": der.confusion_s,
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                )
                print(
                    f"{band:17} {entry['id']:28} {method} t={threshold:.2f} m={min_size:2} -> {len(found.speakers)} spk, DER {der.der:.3f}",
                    file=sys.stderr,
                )
    return rows


def table(rows: list[dict], set_name: str) -> list[str]:
    ids = list(dict.fromkeys(r["id"] for r in rows if r["set"] == set_name))
    settings = list(dict.fromkeys((r["method"], r["threshold"], r["min_cluster_size"]) for r in rows))
    voices = {r["id"]: r["voices"] for r in rows}
    lines = [
        f"| method / threshold / min size | {' | '.join(f'{i} ({voices[i]})' for i in ids)} | mean DER | right count |",
        f"|---|{'---:|' * len(ids)}---:|---:|",
    ]
    for method, threshold, min_size in settings:
        key = (method, threshold, min_size)
        cells = {r["id"]: r for r in rows if r["set"] == set_name and (r["method"], r["threshold"], r["min_cluster_size"]) == key}
        mean = statistics.mean(cells[i]["der"] for i in ids)
        right = sum(cells[i]["speakers_found"] == voices[i] for i in ids)
        lines.append(
            f"| {method} / {threshold:.2f} / {min_size} | "
            + " | ".join(f"{cells[i]['der']:.3f} ({cells[i]['speakers_found']})" for i in ids)
            + f" | {mean:.3f} | {right} of {len(ids)} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--thresholds", default="0.6,0.65,0.7,0.75,0.8,0.85")
    parser.add_argument("--min-cluster-sizes", default="2,12")
    parser.add_argument("--methods", default="average,centroid,complete", help="linkage methods of the agglomerative clustering")
    parser.add_argument(
        "--only-set",
        action="append",
        metavar="NAME=FOLDER",
        help="sweep this folder (a manifest.jsonl of id, file, rttm, num_speakers) instead of the fixture sets",
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "diarization_sweep.json")
    args = parser.parse_args(argv)
    if args.only_set:
        SETS.clear()
        SETS.update((name, Path(folder)) for name, folder in (item.split("=", 1) for item in args.only_set))
    thresholds = [float(t) for t in args.thresholds.split(",")]
    min_sizes = [int(m) for m in args.min_cluster_sizes.split(",")]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = sweep(thresholds, min_sizes, [m.strip() for m in args.methods.split(",")])
    args.out.write_text(
        json.dumps({"date_utc": started, "machine": report.machine_info(), "rows": rows}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    for set_name in dict.fromkeys(r["set"] for r in rows):
        print(f"\n{set_name} (DER, collar 0.25 s; speakers found in brackets)\n")
        print("\n".join(table(rows, set_name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
