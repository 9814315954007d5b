"""Word-level speaker attribution: a transcript and exclusive speaker turns in, a transcript
whose every word and segment carries one speaker out.

Rules (property-tested):
- every word gets exactly one speaker: the one whose turns it overlaps most; a word in no turn (Whisper's
  word times and the diarization's turn edges disagree by a few hundred ms) takes the nearest
  turn, the earlier one on a tie;
- a segment is split where the speaker changes between its words, so a segment has one speaker;
- a recording with words but no turns at all (diarization found no speech) is one speaker;
- inputs are never mutated: new Words, Segments and a new Transcript are returned.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

from workers.pipeline.diarize import SPEAKER_LABEL, Diarization
from workers.transcript.types import Segment, Speaker, SpeakerTurn, Transcript, Word, join_words


def assign_speakers(transcript: Transcript, diarization: Diarization) -> Transcript:
    """`transcript` with a speaker on every word and segment (see the module's rules)."""
    turns, speakers = diarization.turns, diarization.speakers
    # No speech found but words recognised: one speaker for them all, with no invented turns
    # in `speaker_turns` (RTTM reports only what diarization found).
    attribution_turns, speakers = (turns, speakers) if turns else _one_speaker(transcript)
    index = _TurnIndex(attribution_turns)
    segments: list[Segment] = []
    for segment in transcript.segments:
        for part in _split_by_speaker(segment, index):
            segments.append(replace(part, id=len(segments)))
    return replace(
        transcript,
        segments=tuple(segments),
        speakers=speakers,
        speaker_turns=turns,
        diarization_model=diarization.model,
        timings_s={**transcript.timings_s, "diarize": diarization.seconds},
    )


def _one_speaker(transcript: Transcript) -> tuple[tuple[SpeakerTurn, ...], tuple[Speaker, ...]]:
    if not transcript.segments:
        return (), ()
    name = SPEAKER_LABEL.format(1)
    start = min(s.start_s for s in transcript.segments)
    end = max(s.end_s for s in transcript.segments)
    return (SpeakerTurn(start, end, name),), (Speaker(name, round(end - start, 3)),)


class _TurnIndex:
    """Exclusive turns sorted by start; since they never overlap, their ends are sorted too,
    so the turns around any interval are found by bisection."""

    def __init__(self, turns: tuple[SpeakerTurn, ...]):
        self.turns = tuple(sorted(turns, key=lambda t: (t.start_s, t.end_s)))
        for earlier, later in zip(self.turns, self.turns[1:]):
            if later.start_s < earlier.end_s:
                raise ValueError(f"speaker turns overlap ({earlier} and {later}); attribution needs exclusive turns")
        self.starts = [t.start_s for t in self.turns]
        self.ends = [t.end_s for t in self.turns]

    def speaker_for(self, start_s: float, end_s: float) -> str:
        """The speaker whose turns overlap [start_s, end_s] most in total (the earlier one on
        a tie), else the speaker of the nearest turn."""
        first = bisect.bisect_right(self.ends, start_s)  # turns ending after start_s
        last = bisect.bisect_left(self.starts, end_s)  # turns starting before end_s
        overlap_s: dict[str, float] = {}  # insertion order = order of first overlap
        for turn in self.turns[first:last]:
            overlap = min(end_s, turn.end_s) - max(start_s, turn.start_s)
            if overlap > 0:
                overlap_s[turn.speaker] = overlap_s.get(turn.speaker, 0.0) + overlap
        if overlap_s:
            return max(overlap_s, key=overlap_s.__getitem__)
        # No overlap: the nearest turn lies just before `first` or at/after it.
        candidates = [t for t in self.turns[max(first - 1, 0) : first + 1 + max(last - first, 0)]]
        return min(candidates, key=lambda t: (_gap(t, start_s, end_s), t.start_s)).speaker


def _gap(turn: SpeakerTurn, start_s: float, end_s: float) -> float:
    return max(turn.start_s - end_s, start_s - turn.end_s, 0.0)


def _split_by_speaker(segment: Segment, index: _TurnIndex) -> list[Segment]:
    if not segment.words:
        return [replace(segment, speaker=index.speaker_for(segment.start_s, segment.end_s))]
    words = [replace(w, speaker=index.speaker_for(w.start_s, w.end_s)) for w in segment.words]
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    parts = []
    for number, run in enumerate(runs):
        # The first part keeps the segment's start and the last its end; inner boundaries
        # fall on the words, so every word stays inside its segment.
        start = segment.start_s if number == 0 else run[0].start_s
        end = segment.end_s if number == len(runs) - 1 else run[-1].end_s
        parts.append(
            replace(segment, start_s=start, end_s=end, text=join_words(tuple(run)), words=tuple(run), speaker=run[0].speaker)
        )
    return parts
