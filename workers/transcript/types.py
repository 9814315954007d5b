"""Values that flow through the pipeline. Frozen: every stage returns new values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SAMPLE_RATE_HZ = 16_000


@dataclass(frozen=True, eq=False)
class DecodedAudio:
    """Audio as every model here wants it.

    samples: float32 array of shape [n_samples], mono, 16 kHz, range [-1, 1].
    """

    samples: npt.NDArray[np.float32]
    source: str

    @property
    def sample_rate_hz(self) -> int:
        return SAMPLE_RATE_HZ

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE_HZ


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    text: str
    probability: float
    speaker: str | None = None


@dataclass(frozen=True)
class Segment:
    id: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float
    no_speech_prob: float
    speaker: str | None = None


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of speech by one speaker, from diarization. Speaker ids are the labels
    shown to readers ("Talare 1", numbered by first appearance)."""

    start_s: float
    end_s: float
    speaker: str


@dataclass(frozen=True)
class Speaker:
    id: str
    talk_time_s: float


@dataclass(frozen=True)
class ModelInfo:
    """Which weights produced a transcript, for reproducibility."""

    id: str
    revision: str | None
    device: str
    compute_type: str


@dataclass(frozen=True)
class RedactedEntity:
    """Where personal data was replaced by a placeholder: its type ("PERSONNUMMER", "NAMN",
    ...), the segment's id and the seconds it spans; never the value."""

    type: str
    segment_id: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Redaction:
    """That a transcript was redacted (workers/redaction), how, and what was replaced."""

    method: str
    entities: tuple[RedactedEntity, ...] = ()


@dataclass(frozen=True)
class Transcript:
    language: str
    language_probability: float
    duration_s: float
    segments: tuple[Segment, ...]
    model: ModelInfo
    # Seconds spent per stage, e.g. {"decode": 0.2, "transcribe": 3.1}; stages add their own.
    timings_s: dict[str, float] = field(default_factory=dict)
    # Filled by diarization: who spoke, for how long, and the (non-overlapping) turns that
    # words were attributed from. Empty when the recording was not diarized.
    speakers: tuple[Speaker, ...] = ()
    speaker_turns: tuple[SpeakerTurn, ...] = ()
    # The diarization pipeline that attributed speakers; None when not diarized.
    diarization_model: str | None = None
    # Set when personal data was replaced by placeholders; None for an unredacted transcript.
    redaction: Redaction | None = None

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)


def join_words(words: tuple[Word, ...]) -> str:
    """The text of a run of words, as segments and formats show it."""
    return " ".join(w.text for w in words if w.text)
