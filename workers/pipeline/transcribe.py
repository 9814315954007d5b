"""Speech recognition: decoded audio in, a guarded Transcript with word timestamps out."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workers.pipeline.asr_model import LoadedModel
from workers.pipeline.guards import GuardOptions, apply_guards
from workers.pipeline.pieces import piece_bounds
from workers.pipeline.progress import ProgressHook, no_progress
from workers.transcript.types import SAMPLE_RATE_HZ, DecodedAudio, Segment, Transcript, Word

# faster-whisper (the `worker` extra) is imported where it runs, after a model was loaded, so
# the modules import on a host without it (the cpu worker).
if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment as WhisperSegment
    from faster_whisper.transcribe import TranscriptionInfo
    from faster_whisper.vad import VadOptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VadSettings:
    """Silero VAD (shipped inside faster-whisper) that keeps silence away from Whisper.

    threshold: speech probability above which a 32 ms frame counts as speech.
    min_silence_duration_ms: silence this long ends a speech chunk.
    speech_pad_ms: padding kept on each side of a speech chunk.
    """

    threshold: float = 0.5
    min_silence_duration_ms: int = 1000
    speech_pad_ms: int = 400

    def to_faster_whisper(self) -> VadOptions:
        from faster_whisper.vad import VadOptions

        return VadOptions(
            threshold=self.threshold,
            min_silence_duration_ms=self.min_silence_duration_ms,
            speech_pad_ms=self.speech_pad_ms,
        )


@dataclass(frozen=True)
class TranscribeOptions:
    """Decoding options for one recording.

    language: ISO code ("sv" by default); None detects the language from the first 30 s.
    initial_prompt: text that primes spelling and style, e.g. names in the case.
    hotwords: words to favour (names, places, legal and medical terms), space separated.
    beam_size: beam search width.
    temperatures_fallback: temperatures tried in turn when a window fails the compression or
        log-probability checks (sequential mode; batched mode uses the first only).
    condition_on_previous_text: feed the previous window's text as a prompt. Off by default:
        it is the main cause of runaway repetition on long recordings. Sequential mode only.
    vad: Silero VAD settings; None transcribes every window, silence included.
    batch_size: 1 decodes windows one after another; more uses faster-whisper's
        BatchedInferencePipeline, decoding that many 30 s windows at once (throughput).
    long_batch_size: windows (VAD speech chunks) decoded at once for a recording of at least
        `long_from_s`, when batch_size is 1: batched decoding is 3-5x faster on long
        recordings (bench/long_batched), while short clips keep sequential decoding with its
        temperature fallback, which the accuracy gates were measured with.
    long_from_s: the length from which a recording counts as long.
    max_piece_s: longer recordings are transcribed in pieces of at most this length, cut at a
        pause, which bounds memory (see pieces.py). With language=None the language detected in
        the first piece is used for the rest.
    no_speech_threshold, log_prob_threshold, compression_ratio_threshold: Whisper's own
        per-window rejection thresholds.
    guards: post-processing against hallucinations and loops.
    """

    language: str | None = "sv"
    initial_prompt: str | None = None
    hotwords: str | None = None
    beam_size: int = 5
    temperatures_fallback: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    condition_on_previous_text: bool = False
    vad: VadSettings | None = field(default_factory=VadSettings)
    batch_size: int = 1
    long_batch_size: int = 1
    long_from_s: float = 60.0
    max_piece_s: float = 600.0
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    guards: GuardOptions = field(default_factory=GuardOptions)

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.long_batch_size < 1:
            raise ValueError("batch_size and long_batch_size must be at least 1")
        if self.beam_size < 1:
            raise ValueError("beam_size must be at least 1")
        if self.max_piece_s < 60:
            raise ValueError("max_piece_s must be at least 60")
        if self.batch_size > 1 and self.condition_on_previous_text:
            raise ValueError("condition_on_previous_text needs sequential decoding (batch_size=1)")


def transcribe(
    model: LoadedModel,
    audio: DecodedAudio,
    options: TranscribeOptions = TranscribeOptions(),
    on_progress: ProgressHook = no_progress,
) -> Transcript:
    """Transcribe `audio`; progress is reported as the fraction of audio time decoded."""
    started = time.perf_counter()
    duration_s = audio.duration_s
    options = for_length(options, duration_s)
    raw_segments: list[Segment] = []
    language: str | None = options.language
    info: TranscriptionInfo | None = None
    for start, end in piece_bounds(audio.samples, options.max_piece_s):
        offset_s = start / SAMPLE_RATE_HZ
        piece = DecodedAudio(samples=audio.samples[start:end], source=audio.source)
        segments_iter, piece_info = _run_whisper(model, piece, replace(options, language=language))
        info = info or piece_info
        language = language or piece_info.language
        # The generator does the decoding: it must be consumed while the model is held.
        for segment in segments_iter:
            raw_segments.append(_from_faster_whisper(segment, offset_s))
            if duration_s > 0:
                on_progress(min((offset_s + segment.end) / duration_s, 1.0))
    segments = apply_guards(tuple(raw_segments), duration_s, options.guards)
    on_progress(1.0)
    assert info is not None  # piece_bounds returns at least one piece, even for empty audio
    return Transcript(
        language=info.language,
        language_probability=round(float(info.language_probability), 4),
        duration_s=round(duration_s, 3),
        segments=segments,
        model=model.info,
        timings_s={"transcribe": round(time.perf_counter() - started, 3)},
    )


def for_length(options: TranscribeOptions, duration_s: float) -> TranscribeOptions:
    """The options a recording this long is decoded with: batched when it is long (see
    TranscribeOptions.long_batch_size) and nothing asks for sequential decoding."""
    if (
        options.batch_size == 1
        and options.long_batch_size > 1
        and duration_s >= options.long_from_s
        and not options.condition_on_previous_text
    ):
        return replace(options, batch_size=options.long_batch_size)
    return options


def whisper_kwargs(options: TranscribeOptions) -> dict[str, Any]:
    """faster-whisper keyword arguments for `options` (shared with the plain-call benchmark)."""
    kwargs: dict[str, Any] = dict(
        language=options.language,
        beam_size=options.beam_size,
        word_timestamps=True,
        initial_prompt=options.initial_prompt or None,
        hotwords=options.hotwords or None,
        vad_filter=options.vad is not None,
        vad_parameters=options.vad.to_faster_whisper() if options.vad else None,
        no_speech_threshold=options.no_speech_threshold,
        log_prob_threshold=options.log_prob_threshold,
        compression_ratio_threshold=options.compression_ratio_threshold,
    )
    if options.batch_size > 1:
        kwargs.update(batch_size=options.batch_size, temperature=options.temperatures_fallback[0])
    else:
        kwargs.update(
            temperature=list(options.temperatures_fallback),
            condition_on_previous_text=options.condition_on_previous_text,
        )
    return kwargs


def _run_whisper(
    model: LoadedModel, audio: DecodedAudio, options: TranscribeOptions
) -> tuple[Iterable[WhisperSegment], TranscriptionInfo]:
    """faster-whisper's lazy segments (decoded as they are consumed) and what it detected."""
    from faster_whisper import BatchedInferencePipeline

    output: tuple[Iterable[WhisperSegment], TranscriptionInfo]
    kwargs = whisper_kwargs(options)
    if options.batch_size > 1:
        if options.vad is None and audio.duration_s >= 30:
            # The batched pipeline needs speech chunks; without VAD, cut plain 30 s windows.
            kwargs["clip_timestamps"] = [
                {"start": float(t), "end": float(min(t + 30, audio.duration_s))}
                for t in range(0, int(audio.duration_s + 0.999), 30)
            ]
        output = BatchedInferencePipeline(model.whisper).transcribe(audio.samples, **kwargs)
        return output
    output = model.whisper.transcribe(audio.samples, **kwargs)
    return output


def _from_faster_whisper(segment: WhisperSegment, offset_s: float) -> Segment:
    words = tuple(
        Word(
            start_s=round(offset_s + float(w.start), 3),
            end_s=round(offset_s + float(w.end), 3),
            text=w.word.strip(),
            probability=round(float(w.probability), 4),
        )
        for w in (segment.words or ())
        if w.word.strip()
    )
    return Segment(
        id=segment.id,
        start_s=round(offset_s + float(segment.start), 3),
        end_s=round(offset_s + float(segment.end), 3),
        text=segment.text.strip(),
        words=words,
        avg_logprob=round(float(segment.avg_logprob), 4),
        no_speech_prob=round(float(segment.no_speech_prob), 4),
    )
