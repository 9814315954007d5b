"""The rule for speaker counts (how many speakers to look for), shared by every way in and by
the diarization stage, so an edge refuses exactly what the pipeline would."""

from __future__ import annotations

MAX_SPEAKERS = 50


def speaker_count_problem(num: int | None, low: int | None, high: int | None) -> str | None:
    """Why this combination of speaker counts (exact, at least, at most) is invalid, or None."""
    for name, value in (("num_speakers", num), ("min_speakers", low), ("max_speakers", high)):
        if value is not None and not 1 <= value <= MAX_SPEAKERS:
            return f"{name} must be between 1 and {MAX_SPEAKERS}, got {value}"
    if low is not None and high is not None and low > high:
        return f"min_speakers ({low}) is larger than max_speakers ({high})"
    if num is not None and (low is not None or high is not None):
        return "give either num_speakers or min_speakers/max_speakers, not both"
    return None


def speaker_options_problem(diarize: bool, counts: tuple[int | None, int | None, int | None], needs: str) -> str | None:
    """Why speaker counts (num, min, max) are invalid for a job or folder, or None; `needs`
    is how the edge spells switching diarization on (e.g. "diarize=true")."""
    if not diarize and any(count is not None for count in counts):
        return f"num_speakers, min_speakers and max_speakers need {needs}"
    return speaker_count_problem(*counts)
