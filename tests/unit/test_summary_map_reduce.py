"""Map-reduce over a generated two-hour transcript.

The endpoint here is a scripted local HTTP server (tests/chat_endpoint.py), not a model: on this
CPU the embedded model would need tens of minutes for two hours of text (docs/benchmarks.md).
What is checked is the bookkeeping: every line reaches the model exactly once, each request
fits the context, partial summaries are merged, and citations stay grounded throughout.
"""

from __future__ import annotations

import re

import pytest

from tests.chat_endpoint import ChatEndpoint, echo_citations_and_fabricate
from tests.meeting_transcripts import long_meeting
from workers.summary.chunking import CHARS_PER_TOKEN
from workers.summary.client import LlmEndpoint, RetryPolicy
from workers.summary.prompt import PARTS_OPEN
from workers.summary.summarize import SummaryOptions, summarize_transcript

CONTEXT_TOKENS, OUTPUT_TOKENS = 8192, 1024
LINE_ID = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


@pytest.fixture(scope="module")
def two_hours():
    transcript = long_meeting(hours=2)
    assert transcript.duration_s >= 2 * 3600
    server = ChatEndpoint(default=echo_citations_and_fabricate)
    seen: list[float] = []
    try:
        summary = summarize_transcript(
            transcript,
            LlmEndpoint(base_url=server.base_url, model="m"),
            SummaryOptions(CONTEXT_TOKENS, OUTPUT_TOKENS, RetryPolicy(0, 0), quality_retries=0),
            progress=seen.append,
        )
        yield transcript, summary, server.requests, seen
    finally:
        server.close()


def test_every_line_is_sent_exactly_once_in_order(two_hours):
    transcript, summary, requests, _ = two_hours
    map_requests = [r for r in requests if PARTS_OPEN not in r["body"]["messages"][-1]["content"]]
    sent = [int(i) for r in map_requests for i in LINE_ID.findall(r["body"]["messages"][-1]["content"])]
    assert sent == [s.id for s in transcript.segments]
    assert summary.chunks == len(map_requests) > 5
    assert f"del 1 av {summary.chunks}" in map_requests[0]["body"]["messages"][-1]["content"]


def test_every_request_fits_the_context(two_hours):
    _, _, requests, _ = two_hours
    for request in requests:
        chars = sum(len(m["content"]) for m in request["body"]["messages"])
        assert chars / CHARS_PER_TOKEN + request["body"]["max_tokens"] <= CONTEXT_TOKENS


def test_partials_are_merged_and_citations_stay_grounded(two_hours):
    transcript, summary, requests, _ = two_hours
    reduce_requests = [r for r in requests if PARTS_OPEN in r["body"]["messages"][-1]["content"]]
    assert 1 <= len(reduce_requests) < summary.chunks
    assert summary.usage.requests == len(requests)
    ids = {s.id for s in transcript.segments}
    cited = [c.segment_id for item in [*summary.decisions, *summary.action_items] for c in item.citations]
    assert cited and set(cited) <= ids
    # The endpoint adds one decision citing a segment that does not exist to every answer.
    assert summary.dropped_ungrounded == len(requests)
    # The merged answer cites the first and the last line the partials cite: the whole recording.
    assert summary.decisions[0].citations[0].segment_id == 0
    assert summary.action_items[0].citations[0].segment_id == transcript.segments[-1].id


def test_progress_rises_to_one(two_hours):
    *_, seen = two_hours
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
