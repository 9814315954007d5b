"""Builders for Transcript values in tests."""

from __future__ import annotations

from workers.transcript.types import ModelInfo, Segment, Transcript, Word

MODEL = ModelInfo(id="test-model", revision="r1", device="cpu", compute_type="int8")


def words(*spec: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(start_s=s, end_s=e, text=t, probability=0.9) for s, e, t in spec)


def segment(seg_id: int, ws: tuple[Word, ...]) -> Segment:
    return Segment(
        id=seg_id,
        start_s=ws[0].start_s if ws else 0.0,
        end_s=ws[-1].end_s if ws else 0.0,
        text=" ".join(w.text for w in ws),
        words=ws,
        avg_logprob=-0.2,
        no_speech_prob=0.01,
    )


def transcript(*segments: Segment, duration_s: float = 60.0) -> Transcript:
    return Transcript(
        language="sv",
        language_probability=0.99,
        duration_s=duration_s,
        segments=segments,
        model=MODEL,
        timings_s={"decode": 0.1, "transcribe": 1.0},
    )
