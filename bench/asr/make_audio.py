"""Build the ASR benchmark's audio at run time (nothing of it is committed).

Writes into WORK_DIR, all 16 kHz mono 16-bit FLAC:

- long_<N>min.flac: N minutes of speech clips (real and synthetic, taken in turn) separated by
  0.5-1.5 s pauses, padded with silence to exactly N minutes;
- short/clip_<i>.flac: short clips of 3-8 s, each a copy of a speech clip with its own gain
  and a small leading silence, so no two files are byte-identical;
- audio.json: what was written, with durations and reference texts (for word counts and WER).

Everything is derived from a fixed seed, so two runs give the same audio.

run.py starts this as a separate process on purpose: on Linux a child's ru_maxrss is never
lower than its parent's peak at spawn time (the parent's memory is charged across vfork/exec),
so the process that measures peak memory must never hold an hour of audio itself.

    python bench/asr/make_audio.py --work-dir DIR --minutes-long 10,60 --short-clips 200 \
        --real-speech audio_fixtures/real_speech/manifest.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from workers.transcript.audio import decode_audio

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC_MANIFEST = REPO / "audio_fixtures" / "manifest.jsonl"
SR = 16_000

PAUSE_S = (0.5, 1.5)
SHORT_S = (3.0, 8.0)
GAIN_DB = (-4.0, 2.0)
MAX_LEAD_S = 0.5
PEAK_LIMIT = 0.98
# Silence kept before the first word when a source clip is trimmed: some real clips start
# with over a second of room noise, which would push their short copies past 8 s.
KEEP_LEAD_S = 0.2


@dataclass(frozen=True)
class Source:
    id: str
    text: str
    real: bool
    samples: np.ndarray  # float32, 16 kHz mono


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    sources = load_sources(args.real_speech)
    long = [write_long(work, sources, minutes, args.seed) for minutes in args.minutes_long]
    short = write_short(work / "short", sources, args.short_clips, args.seed)
    manifest = {"seed": args.seed, "sources": len(sources), "long": long, "short": short}
    (work / "audio.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--minutes-long", type=_floats, default=[10.0, 60.0])
    parser.add_argument("--short-clips", type=int, default=200)
    parser.add_argument("--real-speech", type=Path, default=REPO / "audio_fixtures" / "real_speech" / "manifest.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def _floats(value: str) -> list[float]:
    return [float(v) for v in value.split(",") if v.strip()]


def load_sources(real_manifest: Path) -> list[Source]:
    """Real clips and synthetic speech fixtures, interleaved so any prefix mixes both."""
    synthetic = _read_manifest(SYNTHETIC_MANIFEST, real=False)
    real = _read_manifest(real_manifest, real=True) if real_manifest.is_file() else []
    if not real:
        print(f"make_audio: no real speech at {real_manifest}; using synthetic clips only", file=sys.stderr)
    mixed = itertools.chain.from_iterable(itertools.zip_longest(real, synthetic))
    return [s for s in mixed if s is not None]


def _read_manifest(manifest: Path, real: bool) -> list[Source]:
    sources = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("expect_words") is False or not entry.get("text"):
            continue  # silence, noise and tone fixtures have nothing to transcribe
        samples = decode_audio(manifest.parent / entry["file"]).samples
        sources.append(Source(entry["id"], entry["text"], real, _trim_lead(samples)))
    return sources


def _trim_lead(samples: np.ndarray) -> np.ndarray:
    speech = get_speech_timestamps(samples, VadOptions(speech_pad_ms=0))
    if not speech:
        return samples
    return samples[max(speech[0]["start"] - int(KEEP_LEAD_S * SR), 0) :]


def write_long(work: Path, sources: list[Source], minutes: float, seed: int) -> dict:
    """Clips in turn with random pauses until the next one would not fit; then silence."""
    total = int(round(minutes * 60 * SR))
    rng = np.random.default_rng([seed, int(minutes * 1000)])
    path = work / f"long_{minutes:g}min.flac"
    texts, written = [], 0
    with FlacWriter(path) as out:
        for source in itertools.cycle(sources):
            pause = np.zeros(int(rng.uniform(*PAUSE_S) * SR), dtype=np.float32)
            if written + len(source.samples) + len(pause) > total:
                break
            out.write(source.samples)
            out.write(pause)
            written += len(source.samples) + len(pause)
            texts.append(source.text)
        out.write(np.zeros(total - written, dtype=np.float32))
    return {"minutes": minutes, "path": str(path), "duration_s": total / SR, "clips": len(texts), "reference": " ".join(texts)}


def write_short(folder: Path, sources: list[Source], count: int, seed: int) -> list[dict]:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("clip_*.flac"):
        stale.unlink()
    clips = []
    for i in range(count):
        source = sources[i % len(sources)]
        samples = vary(source.samples, np.random.default_rng([seed, i]))
        path = folder / f"clip_{i:04d}.flac"
        with FlacWriter(path) as out:
            out.write(samples)
        clips.append(
            {
                "path": str(path),
                "duration_s": len(samples) / SR,
                "source_id": source.id,
                "real": source.real,
                "reference": source.text,
            }
        )
    return clips


def vary(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy with its own gain and leading silence, cut or padded to 3-8 s."""
    peak = float(np.abs(samples).max()) or 1.0
    gain = min(10 ** (rng.uniform(*GAIN_DB) / 20), PEAK_LIMIT / peak)
    longest, shortest = int(SHORT_S[1] * SR), int(SHORT_S[0] * SR)
    # The lead shrinks rather than the speech being cut, as long as the speech fits.
    lead = min(int(rng.uniform(0, MAX_LEAD_S) * SR), max(longest - len(samples), 0))
    out = np.concatenate([np.zeros(lead, dtype=np.float32), samples * gain])[:longest]
    if len(out) < shortest:
        out = np.concatenate([out, np.zeros(shortest - len(out), dtype=np.float32)])
    return out.astype(np.float32)


class FlacWriter:
    """Streams float32 chunks into a 16 kHz mono 16-bit FLAC file (an hour never sits in memory)."""

    def __init__(self, path: Path):
        self.container = av.open(str(path), mode="w", format="flac")
        self.stream = self.container.add_stream("flac", rate=SR, layout="mono")

    def write(self, samples: np.ndarray) -> None:
        if len(samples) == 0:
            return
        pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def __enter__(self) -> FlacWriter:
        return self

    def __exit__(self, *exc) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()


if __name__ == "__main__":
    sys.exit(main())
