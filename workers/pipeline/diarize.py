"""Speaker diarization: decoded audio in, who spoke when out.

Runs pyannote.audio's SpeakerDiarization on audio already in memory (decoded once per job for
recognition and diarization alike) and returns its exclusive (non-overlapping) turns, which is
what word attribution needs, with speakers renamed "Talare 1", "Talare 2", ... by first
appearance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from workers.pipeline.diarization_model import LoadedDiarizer
from workers.pipeline.progress import ProgressHook, no_progress, sub_range
from workers.transcript.errors import DiarizationError
from workers.transcript.speaker_counts import speaker_count_problem
from workers.transcript.types import DecodedAudio, Speaker, SpeakerTurn

SPEAKER_LABEL = "Talare {}"

# Share of the stage's progress per pyannote step; embeddings dominate the time on a CPU.
_STEP_RANGES = {
    "segmentation": (0.0, 0.25),
    "speaker_counting": (0.25, 0.3),
    "embeddings": (0.3, 0.95),
    "discrete_diarization": (0.95, 1.0),
}


@dataclass(frozen=True)
class DiarizeOptions:
    """How many speakers to look for. All None lets the pipeline decide.

    num_speakers: exactly this many (wins over the bounds).
    min_speakers, max_speakers: bounds on the number found.
    """

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        problem = speaker_count_problem(self.num_speakers, self.min_speakers, self.max_speakers)
        if problem:
            raise ValueError(problem)


@dataclass(frozen=True)
class Diarization:
    """turns: exclusive turns sorted by time, never overlapping. speakers: every speaker found,
    in label order, with talk time from the full (overlap-aware) diarization."""

    turns: tuple[SpeakerTurn, ...]
    speakers: tuple[Speaker, ...]
    model: str
    seconds: float


def diarize(
    diarizer: LoadedDiarizer,
    audio: DecodedAudio,
    options: DiarizeOptions = DiarizeOptions(),
    on_progress: ProgressHook = no_progress,
) -> Diarization:
    import torch

    started = time.perf_counter()
    # pyannote wants (channel, time); from_numpy shares memory with the decoded samples.
    waveform = torch.from_numpy(audio.samples).unsqueeze(0)
    try:
        output = diarizer.pipeline(
            {"waveform": waveform, "sample_rate": audio.sample_rate_hz},
            num_speakers=options.num_speakers,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
            hook=_pyannote_hook(on_progress),
        )
    except (RuntimeError, ValueError) as e:  # torch (e.g. out of memory) or pyannote on this input
        raise DiarizationError(f"{audio.source}: speaker diarization failed: {type(e).__name__}: {e}") from e
    on_progress(1.0)
    exclusive = [(t.start, t.end, label) for t, _, label in output.exclusive_speaker_diarization.itertracks(yield_label=True)]
    full = [(t.start, t.end, label) for t, _, label in output.speaker_diarization.itertracks(yield_label=True)]
    return diarization_from_tracks(exclusive, full, audio.duration_s, diarizer.name, time.perf_counter() - started)


def diarization_from_tracks(
    exclusive: list[tuple[float, float, str]],
    full: list[tuple[float, float, str]],
    duration_s: float,
    model: str,
    seconds: float = 0.0,
) -> Diarization:
    """Rename pyannote's labels to "Talare N" by first appearance in the exclusive turns, clamp
    the turns to the audio and to each other (a pipeline whose exclusive output still overlaps,
    e.g. one filling gaps per speaker, is cut back at the previous turn's end), sort.

    A speaker heard only in overlap has no exclusive turn and so no words: it is left out."""
    turns: list[SpeakerTurn] = []
    names: dict[str, str] = {}
    previous_end = 0.0
    for start, end, label in sorted(exclusive, key=lambda t: (t[0], t[1])):
        start, end = round(max(start, previous_end), 3), round(min(end, duration_s), 3)
        if end <= start:
            continue
        name = names.setdefault(label, SPEAKER_LABEL.format(len(names) + 1))
        turns.append(SpeakerTurn(start, end, name))
        previous_end = end
    talk = {name: 0.0 for name in names.values()}
    for start, end, label in full:
        if label in names:
            talk[names[label]] += max(0.0, min(end, duration_s) - max(0.0, start))
    speakers = tuple(Speaker(name, round(seconds_, 3)) for name, seconds_ in talk.items())
    return Diarization(turns=tuple(turns), speakers=speakers, model=model, seconds=round(seconds, 3))


def _pyannote_hook(on_progress: ProgressHook) -> Callable[..., None]:
    """Adapt pyannote's hook(step, artifact, file=, total=, completed=) to a 0..1 hook."""
    hooks = {step: sub_range(on_progress, start, end) for step, (start, end) in _STEP_RANGES.items()}

    # total and completed: items of the step (chunks, embeddings), when pyannote counts them.
    def hook(
        step_name: str, step_artifact: object, file: object = None, total: int | None = None, completed: int | None = None
    ) -> None:
        report = hooks.get(step_name)
        if report is None:
            return
        report(completed / total if total and completed is not None else 1.0 if completed is None else 0.0)

    return hook
