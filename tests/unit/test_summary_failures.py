"""The LLM client against a real HTTP server on 127.0.0.1 that fails in the ways endpoints do."""

from __future__ import annotations

import pytest

from tests.chat_endpoint import ChatEndpoint, answer_json, completion, echo_citations_and_fabricate
from tests.meeting_transcripts import CASE_CALL, meeting
from workers.summary.client import (
    LlmEndpoint,
    LlmOutputError,
    LlmRejectedError,
    LlmUnavailableError,
    RetryPolicy,
)
from workers.summary.summarize import SummaryOptions, summarize_transcript

TRANSCRIPT = meeting(CASE_CALL)
LINES = {s.id: s.text for s in TRANSCRIPT.segments}
# No re-asking after the checks here: these tests count requests for transport failures.
OPTIONS = SummaryOptions(
    context_tokens=8192, max_output_tokens=512, retry=RetryPolicy(max_retries=2, base_delay_s=0.01), quality_retries=0
)


@pytest.fixture
def endpoint():
    server = ChatEndpoint(default=echo_citations_and_fabricate)
    yield server
    server.close()


def run(server: ChatEndpoint, timeout_s: float = 5.0, api_key: str | None = None):
    llm = LlmEndpoint(base_url=server.base_url, model="mistral-small-latest", api_key=api_key, timeout_s=timeout_s)
    return summarize_transcript(TRANSCRIPT, llm, OPTIONS)


def test_a_valid_answer_becomes_a_grounded_summary(endpoint):
    summary = run(endpoint, api_key="sk-test")
    request = endpoint.requests[0]
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["body"]["model"] == "mistral-small-latest" and request["body"]["max_tokens"] == 512
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert summary.decisions[0].citations[0].segment_id == 0
    assert summary.dropped_ungrounded == 1, "the decision citing a made-up segment is dropped"
    assert summary.usage.requests == 1 and summary.usage.prompt_tokens == 100 and summary.chunks == 1


def test_server_errors_are_retried_then_succeed(endpoint):
    endpoint.answers = [(500, "boom"), (503, "busy")]
    assert run(endpoint).abstract
    assert len(endpoint.requests) == 3


def test_a_server_that_keeps_failing_gives_up_after_the_bounded_retries(endpoint):
    endpoint.answers = [(500, "boom")] * 10
    with pytest.raises(LlmUnavailableError, match=r"answered 500.*after 3 attempts"):
        run(endpoint)
    assert len(endpoint.requests) == 3


def test_invalid_json_is_retried_and_then_reported(endpoint):
    endpoint.answers = [(200, completion("Här är en sammanfattning: inget JSON alls"))] * 3
    with pytest.raises(LlmOutputError, match="not JSON.*after 3 attempts"):
        run(endpoint)
    # Asked again at temperature 0 the model would repeat itself; retries sample a little.
    assert [r["body"]["temperature"] for r in endpoint.requests] == [0.0, 0.3, 0.3]


def test_an_invalid_answer_then_a_valid_one_succeeds(endpoint):
    endpoint.answers = [(200, completion('{"abstract": ""}'))]
    assert run(endpoint).abstract and len(endpoint.requests) == 2


def test_json_of_the_wrong_shape_is_reported_with_what_is_missing(endpoint):
    endpoint.answers = [(200, completion('{"summary": "x"}'))] * 3
    with pytest.raises(LlmOutputError, match="abstract: Field required"):
        run(endpoint)


def test_an_answer_cut_off_at_the_token_limit_says_so(endpoint):
    endpoint.answers = [(200, completion('{"abstract": "Ett samt', finish_reason="length"))] * 3
    with pytest.raises(LlmOutputError, match="cut off at the output token limit"):
        run(endpoint)


def test_fenced_json_is_accepted(endpoint):
    endpoint.answers = [(200, completion("```json\n" + answer_json([1, 2], texts=LINES) + "\n```"))]
    assert run(endpoint).action_items[0].citations[0].segment_id == 2


def test_a_hanging_server_times_out_and_is_retried(endpoint):
    endpoint.answers = [3.0]  # first request hangs past the timeout, the retry is answered
    summary = run(endpoint, timeout_s=1.0)
    assert summary.abstract and len(endpoint.requests) == 2


def test_a_rejected_request_is_not_retried(endpoint):
    endpoint.answers = [(401, '{"error": "invalid api key"}')]
    with pytest.raises(LlmRejectedError, match="401"):
        run(endpoint)
    assert len(endpoint.requests) == 1


def test_nothing_listening_is_unavailable():
    llm = LlmEndpoint(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    with pytest.raises(LlmUnavailableError, match="cannot reach"):
        summarize_transcript(TRANSCRIPT, llm, OPTIONS)


def test_a_transcript_without_speech_needs_no_request(endpoint):
    empty = meeting([])
    summary = summarize_transcript(empty, LlmEndpoint(base_url=endpoint.base_url, model="m"), OPTIONS)
    assert summary.decisions == [] and "inget" in summary.abstract and endpoint.requests == []


def test_retries_wait_twice_as_long_each_time_and_refusals_are_not_retried():
    from workers.summary.client import with_retries

    slept: list[float] = []
    calls = []

    def unavailable():
        calls.append(1)
        raise LlmUnavailableError("busy")

    with pytest.raises(LlmUnavailableError, match=r"^busy \(after 4 attempts\)$"):
        with_retries(unavailable, RetryPolicy(max_retries=3, base_delay_s=5.0), slept.append)
    assert slept == [5.0, 10.0, 20.0] and len(calls) == 4

    slept.clear()
    with pytest.raises(LlmRejectedError, match="^bad key$"):
        with_retries(lambda: (_ for _ in ()).throw(LlmRejectedError("bad key")), RetryPolicy(3, 5.0), slept.append)
    assert slept == []

    answers = iter([LlmOutputError("not JSON"), "ok"])

    def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_retries(flaky, RetryPolicy(2, 1.0), slept.append) == "ok" and slept == [1.0]
