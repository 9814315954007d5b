"""The grounding check: decisions and action items must cite segments that exist."""

from __future__ import annotations

from tests.meeting_transcripts import CASE_CALL, meeting
from workers.summary.chunking import transcript_lines
from workers.summary.grounding import ground_answer, to_summary
from workers.summary.schema import ModelAnswer, Usage

IDS = frozenset(range(9))
SPEAKERS = frozenset({"Talare 1", "Talare 2"})


def answer(**parts) -> ModelAnswer:
    return ModelAnswer.model_validate({"abstract": "Samtal.", "matter": "Bostadsbidrag.", **parts})


def test_items_citing_only_existing_segments_are_kept_with_sorted_distinct_ids():
    grounded, dropped = ground_answer(
        answer(
            decisions=[{"text": "Bidrag beviljas.", "segments": [2, 2]}],
            action_items=[{"text": "Skicka hyresavtal.", "owner": "Talare 2", "deadline": "15 april", "segments": [5, 4]}],
        ),
        IDS,
        SPEAKERS,
    )
    assert dropped == 0
    assert grounded.decisions[0].segments == [2]
    assert grounded.action_items[0].segments == [4, 5] and grounded.action_items[0].deadline == "15 april"


def test_items_with_a_made_up_or_missing_citation_are_dropped():
    grounded, dropped = ground_answer(
        answer(
            decisions=[
                {"text": "Påhittat.", "segments": [99]},
                {"text": "Delvis påhittat.", "segments": [2, 99]},
                {"text": "Utan källa.", "segments": []},
                {"text": "Äkta.", "segments": [2]},
            ],
            action_items=[{"text": "Negativt id.", "segments": [-1]}, {"text": "  ", "segments": [3]}],
        ),
        IDS,
        SPEAKERS,
    )
    assert [d.text for d in grounded.decisions] == ["Äkta."]
    assert grounded.action_items == [] and dropped == 5


def test_participants_must_be_speaker_labels_of_the_transcript():
    grounded, _ = ground_answer(
        answer(
            participants=[
                {"speaker": "Talare 1", "role": "handläggare"},
                {"speaker": "Talare 1", "role": "dubblett"},
                {"speaker": "Anna Berg", "role": "handläggare"},
                {"speaker": "Talare 8"},
            ]
        ),
        IDS,
        SPEAKERS,
    )
    assert [(p.speaker, p.role) for p in grounded.participants] == [("Talare 1", "handläggare")]


def test_the_input_answer_is_not_changed():
    original = answer(decisions=[{"text": "Påhittat.", "segments": [99]}])
    ground_answer(original, IDS, SPEAKERS)
    assert original.decisions[0].segments == [99]


def test_citations_carry_the_segments_times():
    lines = {line.segment_id: line for line in transcript_lines(meeting(CASE_CALL, seconds_per_line=10.0))}
    grounded, dropped = ground_answer(answer(decisions=[{"text": "Bidrag beviljas.", "segments": [2]}]), IDS, SPEAKERS)
    summary = to_summary(grounded, lines, model="m", chunks=1, dropped=dropped, usage=Usage())
    citation = summary.decisions[0].citations[0]
    assert (citation.segment_id, citation.start_s, citation.end_s) == (2, 20.0, 29.5)
