"""An answer that fails the checks (template echo, vague matter, ungrounded items) is asked
again with the reasons; the better answer is kept; development models' summaries say so.
Scripted endpoint on 127.0.0.1 (tests/chat_endpoint.py), no model."""

from __future__ import annotations

import json

import pytest

from tests.chat_endpoint import ChatEndpoint, completion
from tests.meeting_transcripts import CASE_CALL, meeting
from workers.settings import Settings
from workers.summary.client import LlmEndpoint, RetryPolicy
from workers.summary.configured import DEVELOPMENT_NOTICE, options_from_settings
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME
from workers.summary.prompt import PROMPT_VARIANTS, SYSTEM_PROMPT
from workers.summary.render import to_markdown
from workers.summary.summarize import SummaryOptions, summarize_transcript

TRANSCRIPT = meeting(CASE_CALL)
OPTIONS = SummaryOptions(context_tokens=8192, max_output_tokens=512, retry=RetryPolicy(0, 0))

ECHOING = {  # what a small model made of the old prompt's JSON skeleton
    "abstract": "2-4 meningar om samtalet",
    "matter": "sida",
    "participants": [{"speaker": "Talare 1", "role": "beslut"}],
    "decisions": [{"text": "beslutet", "segments": [2]}],
    "action_items": [{"text": "vad som ska göras", "owner": "vem, eller null", "deadline": None, "segments": [4]}],
    "open_questions": [],
}
GOOD = {
    "abstract": "Handläggaren beviljar bostadsbidrag från mars och ber om ett nytt hyresavtal.",
    "matter": "Ansökan om bostadsbidrag.",
    "participants": [{"speaker": "Talare 1", "role": "handläggare"}, {"speaker": "Talare 2", "role": "sökande"}],
    "decisions": [{"text": "Bostadsbidrag beviljas från mars.", "segments": [2]}],
    "action_items": [{"text": "Skicka in nytt hyresavtal.", "owner": "Talare 2", "deadline": "15 april", "segments": [4]}],
    "open_questions": [],
}


@pytest.fixture
def endpoint():
    server = ChatEndpoint()
    yield server
    server.close()


def run(server: ChatEndpoint, options: SummaryOptions = OPTIONS):
    return summarize_transcript(TRANSCRIPT, LlmEndpoint(base_url=server.base_url, model="m"), options)


def test_an_echoing_answer_is_asked_again_with_the_reasons_and_the_good_answer_kept(endpoint):
    endpoint.answers = [(200, completion(json.dumps(ECHOING))), (200, completion(json.dumps(GOOD)))]
    summary = run(endpoint)
    assert len(endpoint.requests) == 2 and summary.asked_again == 1
    again = endpoint.requests[1]["body"]["messages"][-1]["content"]
    assert "Ett tidigare svar" in again and "'sida'" in again and "'beslutet'" in again and "'beslut'" in again
    assert summary.matter == "Ansökan om bostadsbidrag." and summary.decisions[0].text == "Bostadsbidrag beviljas från mars."


def test_when_asking_again_does_not_help_the_echoes_are_removed_and_counted(endpoint):
    endpoint.answers = [(200, completion(json.dumps(ECHOING)))] * 2
    summary = run(endpoint)
    assert summary.asked_again == 1 and summary.decisions == [] and summary.action_items == []
    assert summary.dropped_ungrounded == 2 and summary.participants[0].role is None
    assert "2-4 meningar" not in summary.abstract


def test_without_quality_retries_one_request_is_made(endpoint):
    endpoint.answers = [(200, completion(json.dumps(ECHOING)))]
    summary = run(
        endpoint, SummaryOptions(context_tokens=8192, max_output_tokens=512, retry=RetryPolicy(0, 0), quality_retries=0)
    )
    assert len(endpoint.requests) == 1 and summary.asked_again == 0


def test_the_prompt_has_a_swedish_worked_example_and_no_placeholder_values():
    assert "Exempel." in SYSTEM_PROMPT and '"matter": "Berit Sandbergs ansökan om färdtjänst' in SYSTEM_PROMPT
    for placeholder in ("roll om den framgår", '"beslutet"', "vem, eller null", "2-4 meningar"):
        assert placeholder not in SYSTEM_PROMPT and placeholder in PROMPT_VARIANTS["template"]


def test_the_embedded_models_summaries_carry_the_development_notice(tmp_path):
    embedded = options_from_settings(Settings(_env_file=None, data_dir=tmp_path))
    production = options_from_settings(Settings(_env_file=None, data_dir=tmp_path, llm_model="mistral-small-latest"))
    assert embedded.notice == DEVELOPMENT_NOTICE and production.notice is None
    assert Settings(_env_file=None, data_dir=tmp_path).llm_model in (None, EMBEDDED_MODEL_NAME)


def test_the_notice_heads_the_markdown(endpoint):
    endpoint.answers = [(200, completion(json.dumps(GOOD)))]
    summary = run(
        endpoint,
        SummaryOptions(context_tokens=8192, max_output_tokens=512, retry=RetryPolicy(0, 0), notice="Utvecklingsmodell: x"),
    )
    assert summary.notice == "Utvecklingsmodell: x"
    assert to_markdown(summary, "samtal.wav").split("\n")[2] == "> **Utvecklingsmodell: x**"
