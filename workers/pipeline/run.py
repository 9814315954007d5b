"""The pipeline from a file path to a Transcript: decode, transcribe, and (when asked)
diarize and attribute speakers, with stage timings."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

from .asr_model import LoadedModel
from .audio import decode_audio
from .diarization_model import LoadedDiarizer
from .diarize import DiarizeOptions, diarize
from .progress import ProgressHook, no_progress, sub_range
from .speakers import assign_speakers
from .transcribe import TranscribeOptions, transcribe
from .types import DecodedAudio, Transcript

# Decoding is fast next to recognition: it gets a small slice of the progress range.
DECODE_PROGRESS_SHARE = 0.05
# With diarization, recognition and diarization take comparable time on a CPU.
TRANSCRIBE_SHARE_WHEN_DIARIZING = 0.5


@dataclass(frozen=True)
class DiarizationStep:
    """Diarize with this loaded pipeline and these speaker counts."""

    diarizer: LoadedDiarizer
    options: DiarizeOptions = DiarizeOptions()


def transcribe_file(
    model: LoadedModel,
    path: str | os.PathLike,
    options: TranscribeOptions = TranscribeOptions(),
    on_progress: ProgressHook = no_progress,
    diarization: DiarizationStep | None = None,
) -> Transcript:
    started = time.perf_counter()
    audio = decode_audio(path)
    decode_s = time.perf_counter() - started
    on_progress(DECODE_PROGRESS_SHARE)
    transcript = transcribe_audio(model, audio, options, sub_range(on_progress, DECODE_PROGRESS_SHARE, 1.0), diarization)
    return with_timing(transcript, "decode", decode_s)


def transcribe_audio(
    model: LoadedModel,
    audio: DecodedAudio,
    options: TranscribeOptions = TranscribeOptions(),
    on_progress: ProgressHook = no_progress,
    diarization: DiarizationStep | None = None,
) -> Transcript:
    """Recognition, then speakers if `diarization` is given; both read the same decoded audio."""
    if diarization is None:
        return transcribe(model, audio, options, on_progress)
    split = TRANSCRIBE_SHARE_WHEN_DIARIZING
    transcript = transcribe(model, audio, options, sub_range(on_progress, 0.0, split))
    return add_speakers(transcript, audio, diarization, sub_range(on_progress, split, 1.0))


def add_speakers(
    transcript: Transcript, audio: DecodedAudio, step: DiarizationStep, on_progress: ProgressHook = no_progress
) -> Transcript:
    return assign_speakers(transcript, diarize(step.diarizer, audio, step.options, on_progress))


def with_timing(transcript: Transcript, stage: str, seconds: float) -> Transcript:
    return replace(transcript, timings_s={stage: round(seconds, 3), **transcript.timings_s})
