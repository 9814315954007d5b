"""How long redaction of an hour's transcript takes: `redact_transcript` on a synthetic
transcript of 60 minutes of speech (about 150 words a minute, 9,000 words in 1,000 segments,
made from the labelled sentences, so personal data is as dense as in the set, far denser than
in a real conversation). Prints the CPU model, the best and median of five runs.

    python bench/redaction/speed.py
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

from workers.evaluation.redaction import load_set
from workers.redaction.redact import redact_transcript
from workers.transcript.types import ModelInfo, Segment, Transcript, Word

SET_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "redaction"
WORDS_PER_S = 2.5
TARGET_S = 3600.0


def hour_transcript() -> Transcript:
    sentences = [s.words for s in load_set(sorted(SET_DIR.glob("*.txt")))]
    segments, t, k = [], 0.0, 0
    while t < TARGET_S:
        texts = sentences[k % len(sentences)]
        words = tuple(Word(t + i / WORDS_PER_S, t + (i + 0.8) / WORDS_PER_S, w, 0.9) for i, w in enumerate(texts))
        segments.append(Segment(k, words[0].start_s, words[-1].end_s, " ".join(texts), words, -0.2, 0.01))
        t = words[-1].end_s + 0.5
        k += 1
    return Transcript("sv", 1.0, t, tuple(segments), ModelInfo("bench", None, "cpu", "int8"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    transcript = hour_transcript()
    n_words = sum(len(s.words) for s in transcript.segments)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        redacted = redact_transcript(transcript)
        times.append(time.perf_counter() - started)
    entities = len(redacted.redaction.entities) if redacted.redaction else 0
    print(f"cpu: {cpu_model()}")
    print(
        f"transcript: {transcript.duration_s / 60:.0f} min, {len(transcript.segments)} segments, {n_words} words; {entities} entities"
    )
    print(f"redact_transcript: best {min(times):.2f} s, median {statistics.median(times):.2f} s (5 runs)")


if __name__ == "__main__":
    main()
