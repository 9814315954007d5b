"""An OpenAI-compatible chat endpoint on 127.0.0.1 for tests, answering as each test scripts it.

Not a language model: it serves failure paths (500, invalid JSON, a hang) and the map-reduce
bookkeeping test, where what matters is which transcript lines reach which request. Tests of
the summaries' content run against the real embedded model (tests/llm).
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from collections.abc import Callable

from workers.summary.checks import content_stems

# A scripted answer: (status, body as text) or a float (sleep that long first, then 200 + a valid answer).
Answer = tuple[int, str] | float
_SEGMENT_ID = re.compile(r"^\[(\d+)\] ", re.MULTILINE)
# A transcript line of the prompt: [id] hh:mm:ss speaker: text
_LINE = re.compile(r"^\[(\d+)\] \d\d:\d\d:\d\d[^:]*: (.*)$", re.MULTILINE)
# An item of a partial summary (JSON made by prompt.partial_json): its text and cited ids.
_CITED_ITEM = re.compile(r'"text":"((?:[^"\\]|\\.)*)"[^{}]*?"segments":\[([\d,]*)\]')


def completion(content: str, prompt_tokens: int = 100, completion_tokens: int = 50, finish_reason: str = "stop") -> str:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": "test",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def answer_json(
    segment_ids: list[int], fabricated_id: int | None = None, speaker: str = "Talare 1", texts: dict[int, str] | None = None
) -> str:
    """A valid summary answer citing `segment_ids`, plus one decision citing `fabricated_id`.
    `texts` (segment id -> text): the decision and action item repeat their cited lines, so
    they share words with them and pass the grounding check."""
    first = segment_ids[:1]
    texts = texts or {}
    decision = texts.get(first[0], "Ansökan beviljas.") if first else "Ansökan beviljas."
    action = texts.get(segment_ids[-1], "Skicka beslutet.") if segment_ids else "Skicka beslutet."
    decisions = [{"text": decision, "segments": first}]
    if fabricated_id is not None:
        decisions.append({"text": "Påhittat beslut.", "segments": [fabricated_id]})
    return json.dumps(
        {
            "abstract": "Ett samtal om en ansökan.",
            "matter": "Ansökan om bidrag.",
            "participants": [{"speaker": speaker, "role": "handläggare"}],
            "decisions": decisions,
            "action_items": [{"text": action, "owner": speaker, "deadline": "fredag", "segments": segment_ids[-1:]}],
            "open_questions": ["När betalas bidraget ut?"],
        },
        ensure_ascii=False,
    )


def echo_citations(request: dict, fabricate: bool = False) -> tuple[int, str]:
    """Cite the first and last transcript line of a map request, or every id the partials of a
    reduce request cite, so each stage's citations exist in what it was given; with `fabricate`,
    add a decision citing a segment that does not exist."""
    user = request["messages"][-1]["content"]
    texts = {int(m.group(1)): m.group(2) for m in _LINE.finditer(user)}
    ids = sorted(texts)
    if not ids:  # a reduce request: partial summaries as JSON, whose items quote their lines
        cited = [(int(i), m.group(1)) for m in _CITED_ITEM.finditer(user) for i in m.group(2).split(",") if i]
        texts = dict(cited)
        ids = sorted(texts)
    # Lines with content words only ("Tack, hej då." supports nothing the grounding check accepts).
    ids = [i for i in ids if content_stems(texts[i])] or ids
    return 200, completion(answer_json([ids[0], ids[-1]] if ids else [], fabricated_id=10**6 if fabricate else None, texts=texts))


def echo_citations_and_fabricate(request: dict) -> tuple[int, str]:
    return echo_citations(request, fabricate=True)


class ChatEndpoint:
    """POST /v1/chat/completions answered by the scripted answers in turn, then by `default`."""

    def __init__(self, answers: list[Answer] | None = None, default: Callable[[dict], tuple[int, str]] = echo_citations):
        self.answers, self.default, self.requests = list(answers or []), default, []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                endpoint.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                answer = endpoint.answers.pop(0) if endpoint.answers else None
                if isinstance(answer, float):
                    time.sleep(answer)
                    answer = None
                status, text = answer if answer is not None else endpoint.default(body)
                data = text.encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
