"""The pipeline from a file to a Transcript: decode -> transcribe -> (diarize -> assign speakers).

The one composition of the stages, with the one map of how much of a recording's progress each
stage takes. The CLI, `swescribe eval` and the gpu worker all run it; the worker nests it
between loading the model and storing the result, and learns each stage's name as it starts
(`on_stage`), to show it in the job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from workers.pipeline.asr_model import LoadedModel
from workers.pipeline.diarization_model import LoadedDiarizer
from workers.pipeline.diarize import DiarizeOptions, diarize
from workers.pipeline.progress import ProgressHook, no_progress, sub_range
from workers.pipeline.speakers import assign_speakers
from workers.pipeline.transcribe import TranscribeOptions, transcribe
from workers.transcript.audio import decode_audio
from workers.transcript.types import DecodedAudio, Transcript

# Called as each stage starts with its name ("decode", "transcribe", "diarize"); returns the
# hook that stage reports its own progress (0..1) to.
StageHook = Callable[[str], ProgressHook]

# Shares of the progress range per stage. Decoding is fast next to recognition; with
# diarization, recognition and diarization take comparable time on a CPU.
STAGE_RANGES = {"decode": (0.0, 0.03), "transcribe": (0.03, 1.0)}
STAGE_RANGES_DIARIZING = {"decode": (0.0, 0.03), "transcribe": (0.03, 0.5), "diarize": (0.5, 1.0)}


@dataclass(frozen=True)
class DiarizationStep:
    """Diarize with this loaded pipeline and these speaker counts."""

    diarizer: LoadedDiarizer
    options: DiarizeOptions = DiarizeOptions()


def stage_ranges(diarizing: bool) -> dict[str, tuple[float, float]]:
    return STAGE_RANGES_DIARIZING if diarizing else STAGE_RANGES


def progress_by_stage(on_progress: ProgressHook, diarizing: bool) -> StageHook:
    """A StageHook that maps each stage onto its share of `on_progress`'s 0..1."""
    ranges = stage_ranges(diarizing)

    def start(name: str) -> ProgressHook:
        low, high = ranges[name]
        on_progress(low)
        return sub_range(on_progress, low, high)

    return start


def transcribe_file(
    model: LoadedModel,
    path: str | os.PathLike[str],
    options: TranscribeOptions = TranscribeOptions(),
    on_progress: ProgressHook = no_progress,
    diarization: DiarizationStep | None = None,
    on_stage: StageHook | None = None,
    max_duration_s: float | None = None,
) -> Transcript:
    """Decode the file once, recognise it, and attribute words to speakers if `diarization`
    is given. Progress goes to `on_stage` when given, else to `on_progress` by STAGE_RANGES.
    A recording longer than `max_duration_s` raises AudioTooLong before it is decoded whole."""
    stage = on_stage or progress_by_stage(on_progress, diarization is not None)
    stage("decode")
    started = time.perf_counter()
    audio = decode_audio(path, max_duration_s)
    decode_s = time.perf_counter() - started
    transcript = transcribe(model, audio, options, stage("transcribe"))
    if diarization is not None:
        transcript = add_speakers(transcript, audio, diarization, stage("diarize"))
    return with_timing(transcript, "decode", decode_s)


def add_speakers(
    transcript: Transcript, audio: DecodedAudio, step: DiarizationStep, on_progress: ProgressHook = no_progress
) -> Transcript:
    """Diarize the audio the transcript was made from and attribute its words to speakers."""
    return assign_speakers(transcript, diarize(step.diarizer, audio, step.options, on_progress))


def with_timing(transcript: Transcript, stage: str, seconds: float) -> Transcript:
    return replace(transcript, timings_s={stage: round(seconds, 3), **transcript.timings_s})
