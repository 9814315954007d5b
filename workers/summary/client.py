"""One client for every OpenAI-compatible chat endpoint: vLLM, Ollama, Mistral's API, Berget
AI, llama.cpp's server. Only `POST {base_url}/chat/completions` is used.

`chat` makes one request and returns the reply or raises; retries are the caller's
(`with_retries`), so each request's failure is seen and counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import httpx
import tenacity

from workers.transcript.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)

JsonMode = Literal["json_schema", "json_object", "json_object_schema", "off"]
_ERROR_BODY_CHARS = 300


class LlmUnavailableError(TransientError):
    """The endpoint did not answer usefully now: network error, timeout, 429 or 5xx."""

    code = "llm_unavailable"


class LlmRejectedError(PermanentError):
    """The endpoint refused the request (bad key, unknown model, request too large)."""

    code = "llm_rejected"


class LlmOutputError(PermanentError):
    """The model answered, but not with a valid summary."""

    code = "llm_invalid_output"


def loggable(error: BaseException) -> str:
    """What a log line may say about a summary error. The messages of refused requests and
    unusable answers quote the endpoint's body, which can hold the model's answer or echo the
    transcript: logs get the error's code only, the job's summary error keeps the whole message."""
    if isinstance(error, LlmOutputError | LlmRejectedError):
        return f"{error.code} (the job's summary error has the details)"
    return str(error)


@dataclass(frozen=True)
class LlmEndpoint:
    base_url: str  # up to and including /v1
    model: str
    api_key: str | None = None
    timeout_s: float = 600.0
    # json_object_schema: llama-cpp-python's {"type": "json_object", "schema": ...} (a grammar).
    json_mode: JsonMode = "json_object"


@dataclass(frozen=True)
class ChatReply:
    content: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str | None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay_s: float = 5.0


def response_format(mode: JsonMode, schema: dict) -> dict | None:
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "summary", "schema": schema}}
    return None


def chat(endpoint: LlmEndpoint, messages: list[dict], *, max_tokens: int, schema: dict, temperature: float = 0.0) -> ChatReply:
    """One chat completion. Raises LlmUnavailableError or LlmRejectedError."""
    body: dict = {"model": endpoint.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
    fmt = response_format(endpoint.json_mode, schema)
    if fmt is not None:
        body["response_format"] = fmt
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    started = time.perf_counter()
    try:
        # No redirects: a key must never be sent on to another host.
        response = httpx.post(url, json=body, headers=headers, timeout=endpoint.timeout_s, follow_redirects=False)
    except httpx.TimeoutException as e:
        raise LlmUnavailableError(f"the LLM at {endpoint.base_url} did not answer within {endpoint.timeout_s:g} s") from e
    except httpx.HTTPError as e:
        raise LlmUnavailableError(f"cannot reach the LLM at {endpoint.base_url}: {type(e).__name__}: {e}") from e
    seconds = time.perf_counter() - started
    status = response.status_code
    if status == 408 or status == 429 or status >= 500:
        raise LlmUnavailableError(f"the LLM at {endpoint.base_url} answered {status}: {response.text[:_ERROR_BODY_CHARS]}")
    if status != 200:
        raise LlmRejectedError(
            f"the LLM at {endpoint.base_url} refused the request ({status}): {response.text[:_ERROR_BODY_CHARS]}"
        )
    try:
        data = response.json()
        choice = data["choices"][0]
        content = choice["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("message content is not text")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise LlmOutputError(
            f"the LLM at {endpoint.base_url} sent no chat completion: {response.text[:_ERROR_BODY_CHARS]}"
        ) from e
    usage = data.get("usage") or {}
    return ChatReply(
        content=content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        seconds=seconds,
        finish_reason=choice.get("finish_reason"),
    )


T = TypeVar("T")


def with_retries(attempt: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `attempt`, again after LlmUnavailableError or LlmOutputError, at most
    1 + max_retries times with doubling delays; the last error propagates with the count."""

    def log_retry(state: tenacity.RetryCallState) -> None:
        logger.warning(
            "LLM attempt %d failed: %s; retrying in %.1f s",
            state.attempt_number,
            loggable(state.outcome.exception()),
            state.next_action.sleep,
        )

    def give_up(state: tenacity.RetryCallState) -> T:
        error = state.outcome.exception()
        suffix = f" (after {state.attempt_number} attempts)" if state.attempt_number > 1 else ""
        raise type(error)(f"{error}{suffix}") from error

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type((LlmUnavailableError, LlmOutputError)),
        stop=tenacity.stop_after_attempt(policy.max_retries + 1),
        # base, 2 * base, 4 * base, ... after the first, second, third failed attempt.
        wait=tenacity.wait_exponential(multiplier=policy.base_delay_s, exp_base=2),
        sleep=sleep,
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    return retrying(attempt)
