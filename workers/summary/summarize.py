"""Transcript in, grounded Swedish summary out: map over chunks that fit the context, then
reduce the partial summaries (in rounds, if they do not fit one request either)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from workers.summary.checks import EchoCheck
from workers.summary.chunking import chunk_lines, estimate_tokens, input_budget_tokens, transcript_lines
from workers.summary.client import ChatReply, LlmEndpoint, LlmOutputError, RetryPolicy, chat, with_retries
from workers.summary.grounding import answer_problems, ground_answer, to_summary
from workers.summary.prompt import (
    DEFAULT_PROMPT,
    chunk_messages,
    instruction_text,
    instructions_tokens,
    partial_json,
    reduce_messages,
    with_rejection,
)
from workers.summary.schema import ModelAnswer, Summary, Usage, answer_json_schema
from workers.transcript.types import Transcript

NO_SPEECH_ABSTRACT = "Inspelningen innehåller inget transkriberat tal."
# A repeated request at temperature 0 gets the same invalid answer again: retries after an
# answer that was not the summary JSON sample a little instead.
RETRY_TEMPERATURE = 0.3
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass(frozen=True)
class SummaryOptions:
    """context_tokens: the model's window; max_output_tokens: reserved for each answer;
    quality_retries: how often an answer that fails the checks (template echo, vague matter,
    ungrounded items: grounding.answer_problems) is asked again with the reasons, per request;
    prompt: a prompt.PROMPT_VARIANTS key; notice: stored with the summary (development models)."""

    context_tokens: int = 8192
    max_output_tokens: int = 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    quality_retries: int = 1
    prompt: str = DEFAULT_PROMPT
    notice: str | None = None


ChatFn = Callable[..., ChatReply]


def parse_answer(reply: ChatReply) -> ModelAnswer:
    """The answer as a ModelAnswer, or LlmOutputError saying what was wrong with it."""
    text = _FENCE.sub("", reply.content.strip())
    start, end = text.find("{"), text.rfind("}")
    truncated = " (cut off at the output token limit)" if reply.finish_reason == "length" else ""
    if start < 0 or end < start:
        raise LlmOutputError(f"the model's answer is not JSON{truncated}: {reply.content[:200]!r}")
    try:
        return ModelAnswer.model_validate(json.loads(text[start : end + 1]))
    except json.JSONDecodeError as e:
        raise LlmOutputError(f"the model's answer is not valid JSON{truncated}: {e}") from e
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:5])
        raise LlmOutputError(f"the model's answer does not follow the summary schema: {problems}") from e


def _batches(items: list[tuple[str, frozenset[int]]], budget_tokens: int) -> list[list[tuple[str, frozenset[int]]]]:
    """Consecutive partials per reduce request within the budget; at least two per batch so
    every round shrinks the list."""
    batches: list[list[tuple[str, frozenset[int]]]] = []
    current: list[tuple[str, frozenset[int]]] = []
    used = 0
    for item in items:
        cost = estimate_tokens(item[0]) + 1
        if len(current) >= 2 and used + cost > budget_tokens:
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += cost
    if current:
        if len(current) == 1 and batches:
            batches[-1].append(current[0])
        else:
            batches.append(current)
    return batches


def summarize_transcript(
    transcript: Transcript,
    endpoint: LlmEndpoint,
    options: SummaryOptions = SummaryOptions(),
    progress: Callable[[float], None] = lambda _fraction: None,
    chat_fn: ChatFn = chat,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Raises LlmUnavailableError (transient), LlmRejectedError or LlmOutputError after the
    retries of `options.retry`."""
    lines = transcript_lines(transcript)
    by_id = {line.segment_id: line for line in lines}
    usage = Usage()
    if not lines:
        empty = ModelAnswer(abstract=NO_SPEECH_ABSTRACT, matter="Okänt: inget tal.")
        return to_summary(empty, by_id, model=endpoint.model, chunks=1, dropped=0, usage=usage, notice=options.notice)

    speakers = frozenset(line.speaker for line in lines if line.speaker)
    budget = input_budget_tokens(options.context_tokens, options.max_output_tokens, instructions_tokens())
    chunks = chunk_lines(lines, budget)
    schema = answer_json_schema()
    calls_expected = len(chunks) + max(0, len(chunks) - 1)  # at most n-1 merges for n partials
    calls_done = 0

    echo = EchoCheck.build(instruction_text(), " ".join(line.text for line in lines))
    asked_again = 0

    def request(messages: list[dict]) -> ModelAnswer:
        invalid_answers = 0

        def attempt() -> ModelAnswer:
            nonlocal invalid_answers
            started = time.perf_counter()
            temperature = RETRY_TEMPERATURE if invalid_answers else 0.0
            reply = chat_fn(endpoint, messages, max_tokens=options.max_output_tokens, schema=schema, temperature=temperature)
            usage.requests += 1
            usage.prompt_tokens += reply.prompt_tokens
            usage.completion_tokens += reply.completion_tokens
            usage.seconds = round(usage.seconds + (time.perf_counter() - started), 3)
            try:
                return parse_answer(reply)
            except LlmOutputError:
                invalid_answers += 1
                raise

        return with_retries(attempt, options.retry, sleep)

    def ask(messages: list[dict], seen: dict[int, str]) -> ModelAnswer:
        """The answer with the fewest problems after at most 1 + quality_retries requests."""
        nonlocal calls_done, asked_again
        best, best_problems = None, None
        current = messages
        for round_ in range(options.quality_retries + 1):
            answer = request(current)
            problems = answer_problems(answer, seen, echo)
            if best_problems is None or len(problems) < len(best_problems):
                best, best_problems = answer, problems
            if not problems or round_ == options.quality_retries:
                break
            asked_again += 1
            current = with_rejection(messages, problems)
        calls_done += 1
        progress(min(0.99, calls_done / calls_expected))
        assert best is not None
        return best

    texts = {line.segment_id: line.text for line in lines}
    dropped = 0
    partials: list[tuple[ModelAnswer, frozenset[int]]] = []
    for chunk in chunks:
        seen = {i: texts[i] for i in sorted(chunk.segment_ids)}
        grounded, lost = ground_answer(ask(chunk_messages(chunk, options.prompt), seen), seen, speakers, echo)
        dropped += lost
        partials.append((grounded, chunk.segment_ids))

    while len(partials) > 1:
        merged: list[tuple[ModelAnswer, frozenset[int]]] = []
        encoded = [(partial_json(answer), ids) for answer, ids in partials]
        by_text = {text: answer for (text, _), (answer, _) in zip(encoded, partials)}
        for batch in _batches(encoded, budget):
            covered = frozenset().union(*(ids for _, ids in batch))
            if len(batch) == 1:
                merged.append((by_text[batch[0][0]], covered))
                continue
            seen = {i: texts[i] for i in sorted(covered)}
            grounded, lost = ground_answer(ask(reduce_messages([text for text, _ in batch]), seen), seen, speakers, echo)
            dropped += lost
            merged.append((grounded, covered))
        partials = merged

    progress(1.0)
    return to_summary(
        partials[0][0],
        by_id,
        model=endpoint.model,
        chunks=len(chunks),
        dropped=dropped,
        usage=usage,
        asked_again=asked_again,
        notice=options.notice,
    )
