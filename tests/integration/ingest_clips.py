"""Short distinct recordings for ingestion tests and the ingest benchmark: pieces cut from the
Swedish fixtures at seeded random offsets, each with its own gain so no two share content."""

from __future__ import annotations

import random
import wave
from pathlib import Path

import numpy as np

from workers.transcript.audio import decode_audio
from workers.transcript.types import SAMPLE_RATE_HZ


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16 kHz mono 16-bit PCM; samples are float32 in [-1, 1], shape (n,)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        out.writeframes(pcm.tobytes())
    return path


def make_clips(
    sources: list[Path],
    out_dir: Path,
    count: int,
    min_s: float = 2.0,
    max_s: float = 4.0,
    seed: int = 7,
    name: str = "klipp {i:03d}.wav",
) -> list[tuple[Path, float]]:
    """`count` clips of min_s..max_s seconds in out_dir; returns (path, duration_s) pairs."""
    rng = random.Random(seed)
    decoded = [decode_audio(path).samples for path in sources]
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        samples = decoded[i % len(decoded)]
        length = min(len(samples), int(rng.uniform(min_s, max_s) * SAMPLE_RATE_HZ))
        start = rng.randint(0, len(samples) - length)
        gain = 0.7 + 0.3 * rng.random() + i * 1e-6  # distinct bytes for every clip
        path = write_wav(out_dir / name.format(i=i), samples[start : start + length] * gain)
        clips.append((path, length / SAMPLE_RATE_HZ))
    return clips
