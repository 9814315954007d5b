"""Many short recordings in one batch.

Whisper pads every window to 30 s, so a 4 s clip costs as much encoder time as 30 s of speech.
Short clips are therefore packed into windows of up to `max_window_s`, separated by silence,
all windows decoded together by faster-whisper's BatchedInferencePipeline, and the words
split back to their clips by time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from workers.pipeline.asr_model import LoadedModel
from workers.pipeline.guards import apply_guards
from workers.pipeline.progress import ProgressHook, no_progress
from workers.pipeline.transcribe import TranscribeOptions, transcribe, whisper_kwargs
from workers.transcript.types import SAMPLE_RATE_HZ, DecodedAudio, Segment, Transcript, Word, join_words

if TYPE_CHECKING:
    from faster_whisper.transcribe import Segment as WhisperSegment


@dataclass(frozen=True)
class PackingOptions:
    """How short clips are packed.

    max_window_s: a window holds clips and gaps up to this long (Whisper's window is 30 s;
        the margin keeps the last words clear of the edge).
    gap_s: silence between clips, so no word straddles two clips.
    batch_size: windows decoded at once.
    """

    max_window_s: float = 28.0
    gap_s: float = 1.0
    batch_size: int = 8


@dataclass(frozen=True)
class _Placement:
    clip: int
    window: int
    offset_s: float
    duration_s: float


def transcribe_many(
    model: LoadedModel,
    audios: Sequence[DecodedAudio],
    options: TranscribeOptions = TranscribeOptions(),
    packing: PackingOptions = PackingOptions(),
    on_progress: ProgressHook = no_progress,
) -> list[Transcript]:
    """Transcribe each of `audios`; returns one Transcript per input, in order.

    With language=None, the language is detected once, on the first window, for all clips.
    """
    # faster-whisper (the `worker` extra) is there: `model` was loaded with it.
    from faster_whisper.vad import get_speech_timestamps

    results: dict[int, Transcript] = {}
    packable: list[int] = []
    for i, audio in enumerate(audios):
        if options.vad is not None and not get_speech_timestamps(audio.samples, options.vad.to_faster_whisper()):
            results[i] = _empty(model, audio, options)
        elif audio.duration_s > packing.max_window_s:
            results[i] = transcribe(model, audio, options)
        else:
            packable.append(i)

    placements = pack(tuple(audios[i].duration_s for i in packable), packing)
    placements = [replace(p, clip=packable[p.clip]) for p in placements]
    if placements:
        results.update(_transcribe_packed(model, audios, placements, options, packing, on_progress))
    for p in placements:
        if not results[p.clip].segments:
            # Whisper occasionally skips a whole clip inside a shared window (it jumps to the
            # next clip's speech); a clip the VAD found speech in is retried on its own rather
            # than silently coming back empty.
            results[p.clip] = transcribe(model, audios[p.clip], options)
    on_progress(1.0)
    return [results[i] for i in range(len(audios))]


def pack(durations_s: Sequence[float], packing: PackingOptions) -> list[_Placement]:
    """Greedy packing in input order; offsets are in seconds of the concatenated audio.

    Windows follow each other with a gap, so window w starts where window w-1 ended + gap.
    """
    placements: list[_Placement] = []
    window, window_start, cursor = 0, 0.0, 0.0
    for clip, duration in enumerate(durations_s):
        if cursor > window_start and cursor + duration - window_start > packing.max_window_s:
            window += 1
            window_start = cursor
        placements.append(_Placement(clip, window, cursor, duration))
        cursor += duration + packing.gap_s
    return placements


def _transcribe_packed(
    model: LoadedModel,
    audios: Sequence[DecodedAudio],
    placements: list[_Placement],
    options: TranscribeOptions,
    packing: PackingOptions,
    on_progress: ProgressHook,
) -> dict[int, Transcript]:
    from faster_whisper import BatchedInferencePipeline

    started = time.perf_counter()
    total_s = placements[-1].offset_s + placements[-1].duration_s
    samples = np.zeros(int(round(total_s * SAMPLE_RATE_HZ)) + 1, dtype=np.float32)
    for p in placements:
        clip = audios[p.clip].samples
        first = int(round(p.offset_s * SAMPLE_RATE_HZ))
        samples[first : first + len(clip)] = clip[: len(samples) - first]

    windows = _window_bounds(placements)
    kwargs = whisper_kwargs(replace(options, batch_size=packing.batch_size))
    kwargs.update(clip_timestamps=[{"start": s, "end": e} for s, e in windows], vad_filter=False, vad_parameters=None)
    segments_iter, info = BatchedInferencePipeline(model.whisper).transcribe(samples, **kwargs)

    words_by_clip: dict[int, dict[int, list[Word]]] = {p.clip: {} for p in placements}
    segment_meta: dict[int, WhisperSegment] = {}
    by_window = {p.window: [q for q in placements if q.window == p.window] for p in placements}
    for segment in segments_iter:
        segment_meta[segment.id] = segment
        for w in segment.words or ():
            if not w.word.strip():
                continue
            owner = _owner(by_window, (w.start + w.end) / 2)
            local = Word(
                start_s=round(max(w.start - owner.offset_s, 0.0), 3),
                end_s=round(max(w.end - owner.offset_s, 0.0), 3),
                text=w.word.strip(),
                probability=round(float(w.probability), 4),
            )
            words_by_clip[owner.clip].setdefault(segment.id, []).append(local)
        on_progress(min(segment.end / total_s, 1.0))

    elapsed = time.perf_counter() - started
    packed_s = sum(p.duration_s for p in placements)
    results: dict[int, Transcript] = {}
    for p in placements:
        segments = tuple(
            Segment(
                id=seg_id,
                start_s=words[0].start_s,
                end_s=words[-1].end_s,
                text=join_words(tuple(words)),
                words=tuple(words),
                avg_logprob=round(float(segment_meta[seg_id].avg_logprob), 4),
                no_speech_prob=round(float(segment_meta[seg_id].no_speech_prob), 4),
            )
            for seg_id, words in words_by_clip[p.clip].items()
        )
        results[p.clip] = Transcript(
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            duration_s=round(audios[p.clip].duration_s, 3),
            segments=apply_guards(segments, audios[p.clip].duration_s, options.guards),
            model=model.info,
            # The batch's time, shared out by audio duration.
            timings_s={"transcribe": round(elapsed * p.duration_s / packed_s, 3)},
        )
    return results


def _window_bounds(placements: list[_Placement]) -> list[tuple[float, float]]:
    bounds: dict[int, tuple[float, float]] = {}
    for p in placements:
        start, end = bounds.get(p.window, (p.offset_s, p.offset_s))
        bounds[p.window] = (min(start, p.offset_s), max(end, p.offset_s + p.duration_s))
    return [bounds[w] for w in sorted(bounds)]


def _owner(by_window: dict[int, list[_Placement]], time_s: float) -> _Placement:
    """The clip a word at `time_s` belongs to: the one containing it, else the nearest."""
    candidates = [p for clips in by_window.values() for p in clips]
    return min(candidates, key=lambda p: max(p.offset_s - time_s, time_s - p.offset_s - p.duration_s, 0.0))


def _empty(model: LoadedModel, audio: DecodedAudio, options: TranscribeOptions) -> Transcript:
    """VAD found no speech: no decoding, so Whisper gets no chance to invent any."""
    return Transcript(
        language=options.language or "und",
        language_probability=0.0,
        duration_s=round(audio.duration_s, 3),
        segments=(),
        model=model.info,
        timings_s={"transcribe": 0.0},
    )
