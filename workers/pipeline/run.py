"""The pipeline from a file path to a Transcript: decode, then transcribe, with stage timings."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from .asr_model import LoadedModel
from .audio import decode_audio
from .progress import ProgressHook, no_progress, sub_range
from .transcribe import TranscribeOptions, transcribe
from .types import Transcript

# Decoding is fast next to recognition: it gets a small slice of the progress range.
DECODE_PROGRESS_SHARE = 0.05


def transcribe_file(
    model: LoadedModel,
    path: str | os.PathLike,
    options: TranscribeOptions = TranscribeOptions(),
    on_progress: ProgressHook = no_progress,
) -> Transcript:
    started = time.perf_counter()
    audio = decode_audio(path)
    decode_s = time.perf_counter() - started
    on_progress(DECODE_PROGRESS_SHARE)
    transcript = transcribe(model, audio, options, sub_range(on_progress, DECODE_PROGRESS_SHARE, 1.0))
    return with_timing(transcript, "decode", decode_s)


def with_timing(transcript: Transcript, stage: str, seconds: float) -> Transcript:
    return replace(transcript, timings_s={stage: round(seconds, 3), **transcript.timings_s})
