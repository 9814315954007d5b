"""Diarization error rate (DER) against RTTM ground truth, with pyannote.metrics.

DER = (missed speech + false alarm + speaker confusion) / total reference speech, after the
best one-to-one mapping between reference and hypothesis speakers. `collar_s` forgives that
many seconds around every reference boundary (0.25 s is the customary NIST value: a human
labeller cannot place a boundary better either).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workers.transcript.types import SpeakerTurn

DEFAULT_COLLAR_S = 0.25


@dataclass(frozen=True)
class DerResult:
    der: float
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    total_s: float
    reference_speakers: int
    hypothesis_speakers: int


def read_rttm(path: str | Path) -> tuple[SpeakerTurn, ...]:
    """SPEAKER lines of an RTTM file as turns (other line types are ignored)."""
    turns = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append(SpeakerTurn(start, round(start + duration, 3), fields[7]))
    return tuple(turns)


def write_rttm(path: str | Path, recording_id: str, turns: Iterable[tuple[float, float, str]]) -> None:
    """(start s, end s, speaker) turns as RTTM SPEAKER lines, as read_rttm reads them."""
    Path(path).write_text(
        "".join(
            f"SPEAKER {recording_id} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
            for start, end, speaker in turns
        )
    )


def diarization_error(
    reference: tuple[SpeakerTurn, ...], hypothesis: tuple[SpeakerTurn, ...], collar_s: float = DEFAULT_COLLAR_S
) -> DerResult:
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar_s, skip_overlap=False)
    details = metric(_annotation(reference), _annotation(hypothesis), detailed=True)
    return DerResult(
        der=round(float(details["diarization error rate"]), 4),
        missed_s=round(float(details["missed detection"]), 3),
        false_alarm_s=round(float(details["false alarm"]), 3),
        confusion_s=round(float(details["confusion"]), 3),
        total_s=round(float(details["total"]), 3),
        reference_speakers=len({t.speaker for t in reference}),
        hypothesis_speakers=len({t.speaker for t in hypothesis}),
    )


def _annotation(turns: tuple[SpeakerTurn, ...]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for number, turn in enumerate(turns):
        if turn.end_s > turn.start_s:
            annotation[Segment(turn.start_s, turn.end_s), number] = turn.speaker
    return annotation
