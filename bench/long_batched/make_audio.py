"""Build the long recording of the batched-decoding benchmark, with where each clip sits.

The recording is made like bench/asr's long recordings (bench/asr/make_audio.py, whose
sources, FLAC writer and pause lengths it reuses): the real Swedish speech clips
(audio_fixtures/real_speech, human speakers) and the SYNTHETIC ones (audio_fixtures, espeak-ng
voices) taken in turn, 0.5-1.5 s pauses between them, silence to the end, all from a fixed
seed. Unlike bench/asr it also writes each clip's start and end and whether it is real speech,
so the transcript's words can be put back on their clips and WER computed on the real-speech
part alone.

Writes WORK_DIR/long_<N>min.flac and WORK_DIR/recording.json:
{"path", "duration_s", "seed", "clips": [{"id", "real", "start_s", "end_s", "text"}, ...]}.
run.py starts this in its own process, so the measuring process never holds the audio.

    python bench/long_batched/make_audio.py --work-dir DIR --minutes 10
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

from make_audio import PAUSE_S, SR, FlacWriter, load_sources  # noqa: E402  (bench/asr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--real-speech", type=Path, default=REPO / "audio_fixtures" / "real_speech" / "manifest.jsonl")
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    recording = write_recording(args.work_dir, args.minutes, args.seed, args.real_speech)
    (args.work_dir / "recording.json").write_text(json.dumps(recording, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


def write_recording(work: Path, minutes: float, seed: int, real_manifest: Path) -> dict:
    """Clips in turn with random pauses until the next one would not fit; then silence."""
    sources = load_sources(real_manifest)
    total = int(round(minutes * 60 * SR))
    rng = np.random.default_rng([seed, int(minutes * 1000)])
    path = work / f"long_{minutes:g}min.flac"
    clips: list[dict] = []
    written = 0
    with FlacWriter(path) as out:
        for source in itertools.cycle(sources):
            pause = np.zeros(int(rng.uniform(*PAUSE_S) * SR), dtype=np.float32)
            if written + len(source.samples) + len(pause) > total:
                break
            out.write(source.samples)
            out.write(pause)
            clips.append(
                {
                    "id": source.id,
                    "real": source.real,
                    "start_s": round(written / SR, 3),
                    "end_s": round((written + len(source.samples)) / SR, 3),
                    "text": source.text,
                }
            )
            written += len(source.samples) + len(pause)
        out.write(np.zeros(total - written, dtype=np.float32))
    return {"path": str(path), "duration_s": total / SR, "seed": seed, "clips": clips}


if __name__ == "__main__":
    sys.exit(main())
