"""Quality gates of the embedded summary model on two conversations of the hand-written synthetic
evaluation set (audio_fixtures/summaries), scored as `swescribe eval-summary` scores them: fact
recall no lower than measured minus a margin, no template echo, no citation of a segment that
does not exist. Runs on the session's llama.cpp server (conftest.embedded_llm); one request per
conversation (no re-ask) keeps it within about two minutes on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_LLM_CONTEXT_TOKENS
from workers.evaluation.summary_report import load_summary_manifest
from workers.evaluation.summary_scoring import aggregate, score_summary
from workers.summary.checks import EchoCheck
from workers.summary.client import LlmEndpoint, RetryPolicy
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME
from workers.summary.prompt import instruction_text
from workers.summary.summarize import SummaryOptions, summarize_transcript
from workers.transcript.formats import transcript_from_json

pytestmark = [pytest.mark.llm]

MANIFEST = Path(__file__).resolve().parents[2] / "audio_fixtures" / "summaries" / "manifest.jsonl"
GATED = ("soc01_ekonomiskt_bistand", "hc01_diabetes")
OPTIONS = SummaryOptions(
    context_tokens=TEST_LLM_CONTEXT_TOKENS, max_output_tokens=450, retry=RetryPolicy(0, 0), quality_retries=0
)
# Fact recall of these two summaries with OPTIONS, measured by this test on 2026-12-02 on an Intel
# Xeon (2 cores; llama.cpp built for AVX2 as the Makefile builds it): 10 of 19 facts, no echo, no
# missing citation (docs/summaries.md). The margin (about 3 facts) absorbs decoding differences
# between CPUs; a prompt or model change that loses more than that fails here.
MEASURED_FACT_RECALL = 0.53
MARGIN = 0.15


@pytest.fixture(scope="module")
def figures(embedded_llm) -> dict:
    endpoint = LlmEndpoint(base_url=embedded_llm, model=EMBEDDED_MODEL_NAME, timeout_s=900, json_mode="json_object_schema")
    scores = []
    for entry in (e for e in load_summary_manifest(MANIFEST) if e.id in GATED):
        transcript = transcript_from_json(entry.path.read_text(encoding="utf-8"))
        summary = summarize_transcript(transcript, endpoint, OPTIONS).model_dump(mode="json")
        echo = EchoCheck.build(instruction_text(), " ".join(s.text for s in transcript.segments))
        scores.append(score_summary(entry.reference, summary, transcript, echo))
    assert len(scores) == len(GATED)
    return aggregate(scores)


def test_fact_recall_holds_at_the_measured_figure_less_the_margin(figures):
    assert figures["fact_recall"] >= MEASURED_FACT_RECALL - MARGIN, figures


def test_no_template_echo_and_no_citation_of_a_missing_segment(figures):
    assert figures["template_echoes"] == 0, figures
    assert figures["missing_citations"] == 0, figures
