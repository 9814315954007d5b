"""The summary endpoint and options as the operator configured them (SWESCRIBE_LLM_*)."""

from __future__ import annotations

from workers.settings import Settings
from workers.summary.client import LlmEndpoint, RetryPolicy
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME
from workers.summary.embedded_server import EmbeddedServerError
from workers.summary.summarize import SummaryOptions


def embedded_settings_env(base_url: str) -> dict[str, str]:
    """Settings that point a process (the cpu worker) at a running embedded server."""
    return {
        "SWESCRIBE_LLM_BASE_URL": base_url,
        "SWESCRIBE_LLM_MODEL": EMBEDDED_MODEL_NAME,
        # llama-cpp-python's server turns a schema into a grammar: the small model then
        # cannot leave the summary's JSON shape.
        "SWESCRIBE_LLM_JSON_MODE": "json_object_schema",
        # llama.cpp's server answers one request at a time: a second summary would wait
        # inside the server with its request timeout running.
        "SWESCRIBE_LLM_ONE_AT_A_TIME": "true",
    }


def endpoint_from_settings(settings: Settings) -> LlmEndpoint:
    """The configured endpoint; EmbeddedServerError when none is configured."""
    if not settings.llm_base_url:
        raise EmbeddedServerError(
            "no LLM endpoint: set SWESCRIBE_LLM_BASE_URL, or run `swescribe up`, which starts the embedded one"
        )
    return LlmEndpoint(
        base_url=settings.llm_base_url,
        model=settings.llm_model or EMBEDDED_MODEL_NAME,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_s=settings.llm_timeout_s,
        json_mode=settings.llm_json_mode,
    )


def with_embedded(settings: Settings, base_url: str) -> Settings:
    """The settings with the embedded server at `base_url` as endpoint."""
    values = {k.removeprefix("SWESCRIBE_").lower(): v for k, v in embedded_settings_env(base_url).items()}
    return settings.model_copy(update=values)


# The embedded model's summaries of the evaluation set miss most facts (docs/accuracy/summaries.md):
# every summary it writes says so, in the JSON and on top of the Markdown.
DEVELOPMENT_NOTICE = (
    "Utvecklingsmodell: sammanfattningen kommer från den inbyggda lilla modellen, som är till för att "
    "systemet ska kunna köras offline. Den missar och förvränger ofta uppgifter; kontrollera mot "
    "transkriptionen och använd en produktionsmodell (Mistral Small) för riktiga ärenden."
)


def development_notice(model: str) -> str | None:
    """The notice for a development model's summaries, None for any other model."""
    return DEVELOPMENT_NOTICE if model == EMBEDDED_MODEL_NAME else None


def options_from_settings(settings: Settings) -> SummaryOptions:
    return SummaryOptions(
        context_tokens=settings.llm_context_tokens,
        max_output_tokens=settings.llm_max_output_tokens,
        retry=RetryPolicy(max_retries=settings.llm_max_retries, base_delay_s=settings.llm_retry_base_s),
        notice=development_notice(settings.llm_model or EMBEDDED_MODEL_NAME),
    )
