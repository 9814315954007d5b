"""The options of one transcription job: one typed model for every way in.

The REST form, the OpenAI-compatible route, a folder's swescribe.toml and the CLI all validate
against `JobOptions`; the job row stores `JobOptions.stored()`, and the workers read it back
with `JobOptions.from_stored()`. Adding an option means adding a field here (with its
description, which becomes the API documentation) and reading it where it takes effect; see
docs/architecture.md, "Add a job option".

Checks that need the operator's settings (which models are offered, which webhook targets are
allowed) are in `check_allowed`, called by the edges that have the settings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from workers.settings import Settings
from workers.transcript.languages import parse_language
from workers.transcript.speaker_counts import MAX_SPEAKERS, speaker_options_problem
from workers.webhooks.url_guard import UnsafeWebhookUrl, UrlPolicy, check_webhook_url

_SPEAKER_RANGE = {"minimum": 1, "maximum": MAX_SPEAKERS}


class JobOptions(BaseModel):
    """Per-job options. Every field is optional; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str | None = Field(default=None, description="Spoken language (sv default), or 'auto'.")
    model: str | None = Field(default=None, description="A model the operator allows; default: the configured one.")
    prompt: str | None = Field(default=None, max_length=2000, description="Initial prompt: context, spellings.")
    hotwords: str | None = Field(default=None, max_length=1000, description="Words to favour, space separated.")
    webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where job.completed / job.failed is POSTed, signed with the key's webhook secret (PUT /v1/webhook).",
    )
    diarize: bool = Field(default=False, description="true: tell speakers apart (Talare 1, Talare 2, ...) word by word.")
    # The range is checked with the other speaker rules (one message for every way in); the
    # schema still shows it.
    num_speakers: int | None = Field(
        default=None, json_schema_extra=_SPEAKER_RANGE, description="Exact number of speakers, when known (with diarize)."
    )
    min_speakers: int | None = Field(
        default=None, json_schema_extra=_SPEAKER_RANGE, description="At least this many speakers (with diarize)."
    )
    max_speakers: int | None = Field(
        default=None, json_schema_extra=_SPEAKER_RANGE, description="At most this many speakers (with diarize)."
    )
    summarize: bool = Field(
        default=False,
        description=(
            "true: after the transcript, a Swedish summary (GET /v1/jobs/{id}/summary); "
            "job.completed is then sent once the summary is done or failed, and carries it."
        ),
    )
    redact: bool = Field(
        default=False,
        description=(
            "true: personal data (personnummer, phone numbers, e-mail, names, addresses, ...) is replaced by "
            "placeholders such as [PERSONNUMMER] in the transcript before it is stored; every format, the summary and "
            "the webhook carry the redacted text, and the JSON lists what was replaced (type, segment, time), never the values."
        ),
    )
    redact_audio: bool = Field(
        default=False,
        description="true: redact as with redact=true, and keep a copy of the recording with a tone over every redacted "
        "span: GET /v1/jobs/{id}/audio?redacted=true.",
    )

    priority: Literal["normal", "bulk"] | None = Field(
        default=None,
        description="normal runs before bulk; tenants take turns within each. Default: normal for uploads, "
        "bulk for folder ingestion.",
    )

    # A column of the job as well (workers/store/jobs.py), so admins can find every job of a case.
    reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Your case or matter reference; the tenant's admins find jobs by it (GET /v1/admin/jobs?reference=).",
    )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None:
            parse_language(value)  # ValueError with the reason
        return value

    @model_validator(mode="after")
    def _speaker_counts(self, info: ValidationInfo) -> JobOptions:
        # The message names diarize as the caller wrote it: "diarize=true" in a form,
        # "diarize = true" in a folder's TOML (context {"diarize_spelling": ...}).
        spelling = (info.context or {}).get("diarize_spelling", "diarize=true")
        problem = speaker_options_problem(self.diarize, self.speaker_counts, spelling)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def speaker_counts(self) -> tuple[int | None, int | None, int | None]:
        """(exact, at least, at most); all None lets diarization decide."""
        return (self.num_speakers, self.min_speakers, self.max_speakers)

    @property
    def redacting(self) -> bool:
        """The transcript is redacted (redact_audio redacts the transcript too)."""
        return self.redact or self.redact_audio

    def stored(self) -> dict:
        """What the job row keeps (and GET /v1/jobs/{id} shows): the options that were given,
        so a folder's or a request's own choices stay visible (and the ingest dedup key,
        which digests them, stays stable when a default changes)."""
        return self.model_dump(exclude_unset=True, exclude_none=True)

    @classmethod
    def from_stored(cls, data: dict) -> JobOptions:
        """Options read back from a job row; ValueError (a ValidationError) for a row that no
        longer fits them (an older format, an edited row)."""
        return cls.model_validate(data)


def describe_problems(error: ValidationError, noun: str = "option") -> str:
    """One line for an edge's error message: every field that failed, and why; `noun` is what
    the caller calls a field ("option" in a form, "key" in a config file)."""
    known = ", ".join(JobOptions.model_fields)
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown {noun} {key!r} (known: {known})")
        elif item["type"] == "bool_type":
            problems.append(f"{key} must be true or false")
        elif item["type"] == "string_type":
            problems.append(f"{key} must be a string")
        elif item["type"] == "int_type":
            problems.append(f"{key} must be a whole number")
        else:
            problems.append(f"{key}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


class OptionsRefused(ValueError):
    """Options that are well formed but not allowed by this operator's settings."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_allowed(options: JobOptions, settings: Settings) -> None:
    """Refuse a model the operator does not offer and a webhook URL the guard refuses."""
    if options.model is not None and options.model not in settings.allowed_models:
        raise OptionsRefused(
            "invalid_option", f"model {options.model!r} is not offered here; available: {', '.join(settings.allowed_models)}"
        )
    if options.webhook_url is not None:
        try:
            check_webhook_url(options.webhook_url, UrlPolicy(allow_private=settings.webhook_allow_private))
        except UnsafeWebhookUrl as e:
            raise OptionsRefused("invalid_webhook_url", f"webhook_url: {e}") from e
