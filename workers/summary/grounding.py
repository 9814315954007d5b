"""The grounding check: only what the transcript supports survives.

A decision or action item must cite at least one segment id and every id it cites must exist
in the transcript part the model saw; otherwise the whole item is dropped, since a made-up
citation makes the item itself suspect. Participants must be speaker labels of the transcript.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.summary.chunking import TranscriptLine
from workers.summary.schema import (
    ActionItem,
    AnswerActionItem,
    AnswerDecision,
    AnswerParticipant,
    Citation,
    Decision,
    ModelAnswer,
    Participant,
    Summary,
    Usage,
    _clean,
)


def _cited(segments: list[int], known_ids: frozenset[int]) -> list[int] | None:
    """The sorted distinct ids, or None when there are none or any is unknown."""
    ids = sorted(set(segments))
    if not ids or any(i not in known_ids for i in ids):
        return None
    return ids


def ground_answer(answer: ModelAnswer, known_ids: frozenset[int], known_speakers: frozenset[str]) -> tuple[ModelAnswer, int]:
    """A new answer without unsupported items; also the number of decisions and action items dropped."""
    decisions: list[AnswerDecision] = []
    actions: list[AnswerActionItem] = []
    dropped = 0
    for decision in answer.decisions:
        ids = _cited(decision.segments, known_ids)
        text = _clean(decision.text)
        if ids is None or text is None:
            dropped += 1
            continue
        decisions.append(AnswerDecision(text=text, segments=ids))
    for item in answer.action_items:
        ids = _cited(item.segments, known_ids)
        text = _clean(item.text)
        if ids is None or text is None:
            dropped += 1
            continue
        actions.append(AnswerActionItem(text=text, owner=_clean(item.owner), deadline=_clean(item.deadline), segments=ids))
    participants: list[AnswerParticipant] = []
    seen: set[str] = set()
    for person in answer.participants:
        label = person.speaker.strip()
        if label in known_speakers and label not in seen:
            seen.add(label)
            participants.append(AnswerParticipant(speaker=label, role=_clean(person.role)))
    questions = list(dict.fromkeys(q for q in (_clean(q) for q in answer.open_questions) if q))
    grounded = ModelAnswer(
        abstract=answer.abstract,
        matter=answer.matter,
        participants=participants,
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
    )
    return grounded, dropped


def to_summary(
    answer: ModelAnswer, lines: Mapping[int, TranscriptLine], *, model: str, chunks: int, dropped: int, usage: Usage
) -> Summary:
    """The stored summary of a grounded answer: citations carry the segments' times."""

    def citations(ids: list[int]) -> list[Citation]:
        return [Citation(segment_id=i, start_s=lines[i].start_s, end_s=lines[i].end_s) for i in ids]

    return Summary(
        abstract=answer.abstract,
        matter=answer.matter,
        participants=[Participant(speaker=p.speaker, role=p.role) for p in answer.participants],
        decisions=[Decision(text=d.text, citations=citations(d.segments)) for d in answer.decisions],
        action_items=[
            ActionItem(text=a.text, owner=a.owner, deadline=a.deadline, citations=citations(a.segments))
            for a in answer.action_items
        ],
        open_questions=answer.open_questions,
        model=model,
        chunks=chunks,
        dropped_ungrounded=dropped,
        usage=usage,
    )
