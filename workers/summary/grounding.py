"""The grounding check: only what the transcript supports survives.

A decision or action item must cite at least one segment id, every id it cites must exist in
the transcript part the model saw, and its text must share a content word with the cited
segments (checks.is_supported); otherwise the whole item is dropped, since a made-up or
unrelated citation makes the item itself suspect. Items and values copied from the
instructions (checks.EchoCheck) are dropped or emptied too. Participants must be speaker
labels of the transcript.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.summary.checks import EchoCheck, is_supported, is_vague_matter
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

NO_ECHO = EchoCheck(frozenset())
# Stands in for a matter or abstract that was only copied from the instructions: fixed text
# from here, never the model's, so a reader sees that the model did not say.
UNKNOWN_MATTER = "Ärendet framgår inte av modellens svar."
UNKNOWN_ABSTRACT = "Modellen gav ingen användbar sammanfattning."


def _cited(segments: list[int], known_ids: frozenset[int]) -> list[int] | None:
    """The sorted distinct ids, or None when there are none or any is unknown."""
    ids = sorted(set(segments))
    if not ids or any(i not in known_ids for i in ids):
        return None
    return ids


def _item_problem(text: str, segments: list[int], lines: Mapping[int, str], echo: EchoCheck) -> str | None:
    """Why an item cannot stay (Swedish, for asking the model again), or None."""
    ids = _cited(segments, frozenset(lines))
    if ids is None:
        return f"{segments} är inte id:n på rader i transkriptionen"
    if echo.is_echo(text):
        return "texten är kopierad från instruktionerna eller ett nyckelnamn, inte från samtalet"
    if not is_supported(text, (lines[i] for i in ids)):
        return f"texten delar inga ord med raderna {ids} som den hänvisar till"
    return None


def answer_problems(answer: ModelAnswer, lines: Mapping[int, str], echo: EchoCheck = NO_ECHO) -> list[str]:
    """What is wrong with an answer, in Swedish, one line each: the reasons it is asked again."""
    problems = []
    if echo.is_echo(answer.matter) or is_vague_matter(answer.matter):
        problems.append(f'"matter" ({answer.matter!r}) säger inte vad ärendet gäller; skriv en hel mening med samtalets ord')
    if echo.is_echo(answer.abstract):
        problems.append('"abstract" är kopierad från instruktionerna; sammanfatta samtalet')
    for person in answer.participants:
        if echo.is_echo(person.role):
            problems.append(f"rollen {person.role!r} för {person.speaker} är ingen roll ur samtalet; skriv rollen eller null")
    for kind, items in (("beslutet", answer.decisions), ("åtgärden", answer.action_items)):
        for item in items:
            problem = _item_problem(item.text, item.segments, lines, echo)
            if problem:
                problems.append(f"{kind} {item.text!r}: {problem}")
    return problems


def ground_answer(
    answer: ModelAnswer, lines: Mapping[int, str], known_speakers: frozenset[str], echo: EchoCheck = NO_ECHO
) -> tuple[ModelAnswer, int]:
    """A new answer without unsupported or copied items; also the number of decisions and
    action items dropped. `lines`: segment id -> text of the transcript part the model saw."""
    decisions: list[AnswerDecision] = []
    actions: list[AnswerActionItem] = []
    dropped = 0
    known_ids = frozenset(lines)
    for decision in answer.decisions:
        text = _clean(decision.text)
        if text is None or _item_problem(text, decision.segments, lines, echo):
            dropped += 1
            continue
        decisions.append(AnswerDecision(text=text, segments=_cited(decision.segments, known_ids) or []))
    for item in answer.action_items:
        text = _clean(item.text)
        if text is None or _item_problem(text, item.segments, lines, echo):
            dropped += 1
            continue
        actions.append(
            AnswerActionItem(
                text=text,
                owner=_unless_echo(_clean(item.owner), echo),
                deadline=_unless_echo(_clean(item.deadline), echo),
                segments=_cited(item.segments, known_ids) or [],
            )
        )
    participants: list[AnswerParticipant] = []
    seen: set[str] = set()
    for person in answer.participants:
        label = person.speaker.strip()
        if label in known_speakers and label not in seen:
            seen.add(label)
            participants.append(AnswerParticipant(speaker=label, role=_unless_echo(_clean(person.role), echo)))
    questions = list(dict.fromkeys(q for q in (_clean(q) for q in answer.open_questions) if q and not echo.is_echo(q)))
    grounded = ModelAnswer(
        abstract=UNKNOWN_ABSTRACT if echo.is_echo(answer.abstract) else answer.abstract,
        matter=UNKNOWN_MATTER if echo.is_echo(answer.matter) else answer.matter,
        participants=participants,
        decisions=decisions,
        action_items=actions,
        open_questions=questions,
    )
    return grounded, dropped


def _unless_echo(value: str | None, echo: EchoCheck) -> str | None:
    return None if echo.is_echo(value) else value


def to_summary(
    answer: ModelAnswer,
    lines: Mapping[int, TranscriptLine],
    *,
    model: str,
    chunks: int,
    dropped: int,
    usage: Usage,
    asked_again: int = 0,
    notice: str | None = None,
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
        asked_again=asked_again,
        notice=notice,
        usage=usage,
    )
