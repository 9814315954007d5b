"""Build the diarization benchmark's long recordings at run time (nothing of it is committed).

long_<N>min.flac: the SYNTHETIC conversations of audio_fixtures/conversations (espeak-ng
voices A-D, 2 to 4 per conversation) one after another, in a seeded order, with 1-3 s pauses,
until N minutes are filled; 16 kHz mono 16-bit FLAC. long_<N>min.rttm: the ground truth,
shifted from each conversation's own RTTM, with the voice letters as speaker names (the same
voice keeps its letter across conversations, so an hour has 4 speakers in all).

Runs in its own process, like bench/asr/make_audio.py, so the measuring process never holds an
hour of samples (a child's peak RSS counts from its parent's at spawn).

    python bench/diarization/make_audio.py --work-dir DIR --minutes 10,60
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from workers.evaluation.diarization import read_rttm  # noqa: E402
from workers.transcript.audio import decode_audio  # noqa: E402

CONVERSATIONS = REPO / "audio_fixtures" / "conversations"
SAMPLE_RATE = 16_000
PAUSE_S = (1.0, 3.0)


def load_conversations() -> list[tuple[str, np.ndarray, list[tuple[float, float, str]]]]:
    out = []
    for line in (CONVERSATIONS / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        samples = decode_audio(CONVERSATIONS / entry["file"]).samples
        turns = [(t.start_s, t.end_s, t.speaker) for t in read_rttm(CONVERSATIONS / entry["rttm"])]
        out.append((entry["id"], samples, turns))
    return out


def build(minutes: int, conversations, rng: np.random.Generator, work: Path) -> dict:
    total = minutes * 60 * SAMPLE_RATE
    audio = np.zeros(total, dtype=np.float32)
    rttm_lines, cursor, used = [], 0, 0
    name = f"long_{minutes}min"
    while True:
        conv_id, samples, turns = conversations[rng.integers(len(conversations))]
        if cursor + len(samples) > total:
            break
        audio[cursor : cursor + len(samples)] = samples
        offset = cursor / SAMPLE_RATE
        rttm_lines += [
            f"SPEAKER {name} 1 {offset + start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
            for start, end, speaker in turns
        ]
        cursor += len(samples) + int(rng.uniform(*PAUSE_S) * SAMPLE_RATE)
        used += 1
    sf.write(work / f"{name}.flac", audio, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    (work / f"{name}.rttm").write_text("".join(rttm_lines), encoding="utf-8")
    return {
        "name": name,
        "minutes": minutes,
        "duration_s": total / SAMPLE_RATE,
        "conversations": used,
        "audio": str(work / f"{name}.flac"),
        "rttm": str(work / f"{name}.rttm"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--minutes", default="10,60", help="comma-separated lengths in minutes")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    conversations = load_conversations()
    rng = np.random.default_rng(args.seed)
    built = [build(int(m), conversations, rng, args.work_dir) for m in args.minutes.split(",")]
    (args.work_dir / "audio.json").write_text(json.dumps(built, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
