"""The summary evaluation's scorer, on hand-made summaries of one conversation of the
(hand-written, synthetic) evaluation set: no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.evaluation.summary_report import EntryOutcome, load_summary_manifest, summarize_outcomes, to_markdown
from workers.evaluation.summary_scoring import aggregate, failed_score, is_swedish, matches, score_summary
from workers.summary.checks import EchoCheck
from workers.summary.prompt import instruction_text
from workers.transcript.formats import transcript_from_json

MANIFEST = Path(__file__).resolve().parents[2] / "audio_fixtures" / "summaries" / "manifest.jsonl"


@pytest.fixture(scope="module")
def soc01():
    entry = next(e for e in load_summary_manifest(MANIFEST) if e.id == "soc01_ekonomiskt_bistand")
    transcript = transcript_from_json(entry.path.read_text(encoding="utf-8"))
    echo = EchoCheck.build(instruction_text(), " ".join(s.text for s in transcript.segments))
    return entry, transcript, echo


def cite(transcript, *ids):
    by_id = {s.id: s for s in transcript.segments}
    return [
        {"segment_id": i, "start_s": by_id[i].start_s, "end_s": by_id[i].end_s}
        if i in by_id
        else {"segment_id": i, "start_s": 0, "end_s": 0}
        for i in ids
    ]


def segment_with(transcript, words: str) -> int:
    return next(s.id for s in transcript.segments if words in s.text)


def good_summary(transcript) -> dict:
    return {
        "abstract": "Ahmed Yusuf har sökt ekonomiskt bistånd för december. Hyran är 7 900 kronor och biståndet beviljas.",
        "matter": "Ansökan om ekonomiskt bistånd för december.",
        "participants": [{"speaker": "Talare 1", "role": "socialsekreterare"}, {"speaker": "Talare 2", "role": "sökande"}],
        "decisions": [
            {
                "text": "Ekonomiskt bistånd beviljas för december.",
                "citations": cite(transcript, segment_with(transcript, "fattat beslut")),
            }
        ],
        "action_items": [
            {
                "text": "Lämna in det nya hyresavtalet.",
                "owner": "Talare 2",
                "deadline": "15 december",
                "citations": cite(transcript, segment_with(transcript, "senast den 15 december")),
            },
            {
                "text": "Boka möte med Arbetsförmedlingen.",
                "owner": "Ahmed",
                "deadline": "8 januari",
                "citations": cite(transcript, segment_with(transcript, "boka ett möte")),
            },
        ],
        "open_questions": ["Får han bistånd till en ny säng?"],
        "dropped_ungrounded": 0,
    }


def test_keys_match_word_starts_joined_digit_groups_and_whole_numbers():
    assert matches("bevilj + bistånd/försörjningsstöd", "Ekonomiskt bistånd beviljas.")
    assert not matches("bevilj + bistånd", "Bistånd avslås.")
    assert matches("8400", "Hyran är 8 400 kronor") and not matches("14", "Björkvägen 140") and matches("14", "den 14 maj")
    assert not matches("ansök", "omansökan") and matches("talare 2", "Talare 2")
    assert matches("bevilj + assistans + -inte/-avslag", "Assistans beviljas")
    assert not matches("bevilj + assistans + -inte/-avslag", "Assistans beviljas inte")
    assert not matches("bevilj", None)


def test_a_faithful_summary_finds_every_fact_and_falls_into_no_trap(soc01):
    entry, transcript, echo = soc01
    score = score_summary(entry.reference, good_summary(transcript), transcript, echo)
    assert (score.matter_hit, score.roles_hit, score.decisions_hit, score.actions_hit) == (1, 2, 1, 2)
    assert (score.owners_hit, score.owners_total, score.deadlines_hit, score.deadlines_total) == (2, 2, 2, 2)
    assert score.traps_fallen == () and score.traps_total == 3
    assert (score.unsupported_items, score.template_echoes, score.missing_citations, score.invented_numbers) == (0, 0, 0, 0)
    assert score.swedish
    figures = aggregate([score])
    assert figures["fact_recall"] == 1.0 and set(figures["recall"].values()) == {1.0}


def test_traps_echoes_unsupported_items_missing_citations_and_invented_numbers_are_counted(soc01):
    entry, transcript, echo = soc01
    summary = good_summary(transcript)
    summary["matter"] = "ärendet: vad samtalet gäller, en mening"  # the old prompt's placeholder
    summary["participants"][1]["role"] = "beslut"
    summary["abstract"] = "Hyran är 8 400 kronor och bidraget betalas ut den 3 mars."  # wrong number, invented date
    summary["decisions"] += [
        {"text": "beslutet", "citations": cite(transcript, 0)},
        {"text": "Beslutet skickas med post.", "citations": cite(transcript, segment_with(transcript, "vanlig post"))},
        {"text": "Bistånd till ny säng beviljas.", "citations": cite(transcript, 999)},
    ]
    score = score_summary(entry.reference, summary, transcript, echo)
    assert score.matter_hit == 0 and score.roles_hit == 1
    assert {t.split(":")[0] for t in score.traps_fallen} == {"number", "retracted"}
    assert score.template_echoes == 3 and "beslut" in score.echoed_values
    assert score.unsupported_items == 2  # "beslutet" shares nothing with segment 0; the made-up id supports nothing
    assert score.missing_citations == 1 and score.invented_numbers == 1  # 3 (mars); 8400 is said, just corrected
    assert not is_swedish("The application was approved and the rent is paid.")


def test_a_failed_summary_counts_every_fact_as_missed(soc01):
    entry, transcript, echo = soc01
    good = score_summary(entry.reference, good_summary(transcript), transcript, echo)
    figures = aggregate([good, failed_score(entry.reference)], failures=1)
    assert figures["fact_recall"] == 0.5 and figures["failed"] == 1 and figures["summaries"] == 2


def test_the_report_has_figures_overall_per_case_type_and_per_conversation(soc01, tmp_path):
    entry, transcript, echo = soc01
    score = score_summary(entry.reference, good_summary(transcript), transcript, echo)
    run = {k: "x" for k in ("model", "endpoint", "prompt", "quality_retries", "context_tokens", "manifest", "date", "cpu")}
    report = summarize_outcomes([EntryOutcome(entry, score, 60.0, good_summary(transcript), None)], run)
    assert report["overall"]["seconds_per_transcript_minute"] == pytest.approx(60.0 / (entry.duration_s / 60), abs=0.01)
    assert list(report["by_case_type"]) == ["social_services"]
    md = to_markdown(report)
    assert "| soc01_ekonomiskt_bistand |" in md and "synthetic" in md
    json.dumps(report)  # serialisable as written
