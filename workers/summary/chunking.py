"""Transcript lines for the prompt, and cutting them into chunks that fit the model's context.

Token counts are estimates (characters / CHARS_PER_TOKEN): the endpoint's tokenizer is not
available here, so the ratio errs on the safe side for Swedish with BPE tokenizers (about
3.5-4 characters per token for Mistral's and Qwen's).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from workers.transcript.types import Transcript

CHARS_PER_TOKEN = 3.0
# Delimiters of the transcript block in the prompt; text that imitates them is defused.
OPEN_TAG, CLOSE_TAG = "<transkription>", "</transkription>"
_TAG_LIKE = re.compile(r"</?\s*transkription\s*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class TranscriptLine:
    segment_id: int
    start_s: float
    end_s: float
    speaker: str | None
    text: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive transcript lines; index counts from 0 of `count` chunks."""

    index: int
    count: int
    lines: tuple[TranscriptLine, ...]

    @property
    def segment_ids(self) -> frozenset[int]:
        return frozenset(line.segment_id for line in self.lines)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def defuse(text: str) -> str:
    """Segment text as plain data: one line, no control characters, no delimiter look-alikes."""
    return _TAG_LIKE.sub("[tagg]", _CONTROL.sub(" ", " ".join(text.split())))


def transcript_lines(transcript: Transcript) -> tuple[TranscriptLine, ...]:
    return tuple(
        TranscriptLine(s.id, s.start_s, s.end_s, s.speaker, defuse(s.text)) for s in transcript.segments if s.text.strip()
    )


def clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_line(line: TranscriptLine) -> str:
    """`[12] 00:01:05 Talare 1: text` (no label when not diarized): the id in brackets is what the model cites."""
    speaker = f" {line.speaker}" if line.speaker else ""
    return f"[{line.segment_id}] {clock(line.start_s)}{speaker}: {line.text}"


def chunk_lines(lines: tuple[TranscriptLine, ...], budget_tokens: int) -> tuple[Chunk, ...]:
    """Consecutive lines in chunks of at most `budget_tokens` (estimated) each, in order, every
    line in exactly one chunk. A single line longer than the budget is cut to fit."""
    if budget_tokens < 16:
        raise ValueError(f"a chunk budget of {budget_tokens} tokens cannot hold a transcript line")
    groups: list[list[TranscriptLine]] = []
    current: list[TranscriptLine] = []
    used = 0
    for line in lines:
        cost = estimate_tokens(format_line(line)) + 1  # + the newline
        if cost > budget_tokens:
            line = _cut_to_fit(line, budget_tokens)
            cost = estimate_tokens(format_line(line)) + 1
        if current and used + cost > budget_tokens:
            groups.append(current)
            current, used = [], 0
        current.append(line)
        used += cost
    if current:
        groups.append(current)
    return tuple(Chunk(index=i, count=len(groups), lines=tuple(g)) for i, g in enumerate(groups))


def _cut_to_fit(line: TranscriptLine, budget_tokens: int) -> TranscriptLine:
    overhead = len(format_line(TranscriptLine(line.segment_id, line.start_s, line.end_s, line.speaker, "")))
    keep = max(0, int((budget_tokens - 1) * CHARS_PER_TOKEN) - overhead - 1)
    return TranscriptLine(line.segment_id, line.start_s, line.end_s, line.speaker, line.text[:keep] + "…")


def input_budget_tokens(context_tokens: int, max_output_tokens: int, instructions_tokens: int) -> int:
    """Tokens left for transcript text once instructions and the answer are reserved.

    A 10 % margin absorbs the estimate's error and the chat template's own tokens."""
    budget = int(context_tokens * 0.9) - max_output_tokens - instructions_tokens
    if budget < 256:
        raise ValueError(
            f"a context of {context_tokens} tokens leaves no room for the transcript after {max_output_tokens} "
            f"answer tokens; raise SWESCRIBE_LLM_CONTEXT_TOKENS or lower SWESCRIBE_LLM_MAX_OUTPUT_TOKENS"
        )
    return budget
