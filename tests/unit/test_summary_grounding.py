"""The grounding check: decisions and action items must cite segments that exist and share
content words with them; values copied from the instructions do not survive."""

from __future__ import annotations

from tests.meeting_transcripts import CASE_CALL, meeting
from workers.summary.checks import EchoCheck
from workers.summary.chunking import transcript_lines
from workers.summary.grounding import UNKNOWN_MATTER, answer_problems, ground_answer, to_summary
from workers.summary.prompt import instruction_text
from workers.summary.schema import ModelAnswer, Usage

TRANSCRIPT = meeting(CASE_CALL)
IDS = {s.id: s.text for s in TRANSCRIPT.segments}  # segment id -> text, as the model saw them
ECHO = EchoCheck.build(instruction_text(), " ".join(IDS.values()))
SPEAKERS = frozenset({"Talare 1", "Talare 2"})


def answer(**parts) -> ModelAnswer:
    return ModelAnswer.model_validate({"abstract": "Samtal om bostadsbidrag.", "matter": "Bostadsbidrag.", **parts})


def test_items_citing_only_existing_segments_are_kept_with_sorted_distinct_ids():
    grounded, dropped = ground_answer(
        answer(
            decisions=[{"text": "Bostadsbidrag beviljas från mars.", "segments": [2, 2]}],
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
                {"text": "Bostadsbidrag beviljas.", "segments": [2]},
            ],
            action_items=[{"text": "Negativt id.", "segments": [-1]}, {"text": "  ", "segments": [3]}],
        ),
        IDS,
        SPEAKERS,
    )
    assert [d.text for d in grounded.decisions] == ["Bostadsbidrag beviljas."]
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
    grounded, dropped = ground_answer(answer(decisions=[{"text": "Bostadsbidrag beviljas.", "segments": [2]}]), IDS, SPEAKERS)
    summary = to_summary(grounded, lines, model="m", chunks=1, dropped=dropped, usage=Usage())
    citation = summary.decisions[0].citations[0]
    assert (citation.segment_id, citation.start_s, citation.end_s) == (2, 20.0, 29.5)


def test_an_item_sharing_no_content_word_with_its_citations_is_dropped():
    grounded, dropped = ground_answer(
        answer(
            decisions=[
                {"text": "Sökanden får ett nytt körkort.", "segments": [2]},  # real id, unrelated line
                {"text": "Bostadsbidraget beviljades i mars.", "segments": [2]},  # inflected: same stems
            ],
            action_items=[{"text": "Beslutet.", "segments": [2]}],  # only a generic word
        ),
        IDS,
        SPEAKERS,
    )
    assert [d.text for d in grounded.decisions] == ["Bostadsbidraget beviljades i mars."] and dropped == 2


def test_values_copied_from_the_instructions_or_field_names_are_removed():
    grounded, dropped = ground_answer(
        answer(
            matter="ärendet: vad samtalet gäller, en mening",
            participants=[
                {"speaker": "Talare 1", "role": "roll om den framgår, annars null"},
                {"speaker": "Talare 2", "role": "beslut"},
            ],
            decisions=[{"text": "beslutet", "segments": [2]}],
            action_items=[
                {"text": "Skicka hyresavtal.", "owner": "vem, eller null", "deadline": "när, eller null", "segments": [4]}
            ],
            open_questions=["fråga som lämnades obesvarad", "Påverkas bidraget om dottern flyttar?"],
        ),
        IDS,
        SPEAKERS,
        ECHO,
    )
    assert grounded.matter == UNKNOWN_MATTER and dropped == 1
    assert [p.role for p in grounded.participants] == [None, None]
    assert (grounded.action_items[0].owner, grounded.action_items[0].deadline) == (None, None)
    assert grounded.open_questions == ["Påverkas bidraget om dottern flyttar?"]


def test_problems_name_echoes_vague_matters_and_ungrounded_items_in_swedish():
    problems = answer_problems(
        answer(
            matter="sida",
            participants=[{"speaker": "Talare 1", "role": "åtgärd"}],
            decisions=[{"text": "beslutet", "segments": [2]}, {"text": "Körkort dras in.", "segments": [3]}],
            action_items=[{"text": "Skicka hyresavtal.", "segments": [99]}],
        ),
        IDS,
        ECHO,
    )
    assert len(problems) == 5
    assert "matter" in problems[0] and "åtgärd" in problems[1] and "kopierad" in problems[2]
    assert "delar inga ord" in problems[3] and "[99]" in problems[4]
    clean = answer(matter="Ansökan om bostadsbidrag.", decisions=[{"text": "Bostadsbidrag beviljas.", "segments": [2]}])
    assert answer_problems(clean, IDS, ECHO) == []
