"""The summary's two JSON shapes: what the model is asked to answer, and what is stored.

The model's answer is parsed leniently (unknown keys ignored, missing lists empty) and then
grounded (grounding.py); the stored summary is the contract with REST clients, webhooks and
the CLI: bump SCHEMA_VERSION on any incompatible change.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1
MAX_TEXT_CHARS = 2000


def _clean(value: str | None) -> str | None:
    """One line of at most MAX_TEXT_CHARS characters; None for nothing."""
    if value is None:
        return None
    text = " ".join(str(value).split())[:MAX_TEXT_CHARS]
    return text or None


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AnswerParticipant(_Lenient):
    speaker: str
    role: str | None = None


class AnswerDecision(_Lenient):
    text: str
    segments: list[int] = Field(default_factory=list)


class AnswerActionItem(_Lenient):
    text: str
    owner: str | None = None
    deadline: str | None = None
    segments: list[int] = Field(default_factory=list)


class ModelAnswer(_Lenient):
    """What the model must answer with (one JSON object)."""

    abstract: str
    matter: str
    participants: list[AnswerParticipant] = Field(default_factory=list)
    decisions: list[AnswerDecision] = Field(default_factory=list)
    action_items: list[AnswerActionItem] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)

    @field_validator("abstract", "matter")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        cleaned = _clean(value)
        if not cleaned:
            raise ValueError("must not be empty")
        return cleaned


def answer_json_schema() -> dict:
    """The answer's JSON schema without pydantic's titles: small enough for a grammar."""
    string = {"type": "string"}
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    ids = {"type": "array", "items": {"type": "integer"}}

    def obj(properties: dict, required: list[str]) -> dict:
        return {"type": "object", "properties": properties, "required": required}

    return obj(
        {
            "abstract": string,
            "matter": string,
            "participants": {"type": "array", "items": obj({"speaker": string, "role": nullable}, ["speaker", "role"])},
            "decisions": {"type": "array", "items": obj({"text": string, "segments": ids}, ["text", "segments"])},
            "action_items": {
                "type": "array",
                "items": obj(
                    {"text": string, "owner": nullable, "deadline": nullable, "segments": ids},
                    ["text", "owner", "deadline", "segments"],
                ),
            },
            "open_questions": {"type": "array", "items": string},
        },
        ["abstract", "matter", "participants", "decisions", "action_items", "open_questions"],
    )


class Citation(BaseModel):
    segment_id: int
    start_s: float
    end_s: float


class Participant(BaseModel):
    speaker: str = Field(description="Speaker label as in the transcript, e.g. Talare 1")
    role: str | None = None


class Decision(BaseModel):
    text: str
    citations: list[Citation] = Field(min_length=1)


class ActionItem(BaseModel):
    text: str
    owner: str | None = None
    deadline: str | None = None
    citations: list[Citation] = Field(min_length=1)


class Usage(BaseModel):
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


class Summary(BaseModel):
    """The stored summary (GET /v1/jobs/{id}/summary, webhook, CLI key `summary`)."""

    schema_version: int = SCHEMA_VERSION
    language: str = "sv"
    abstract: str
    matter: str = Field(description="Ärendet: what the conversation is about")
    participants: list[Participant]
    decisions: list[Decision]
    action_items: list[ActionItem]
    open_questions: list[str]
    model: str
    chunks: int = Field(ge=1, description="Transcript parts summarised separately before merging (map-reduce)")
    dropped_ungrounded: int = Field(
        ge=0,
        description="Decisions and action items dropped: their citations are not in the transcript, their text shares "
        "no content word with the cited segments, or it was copied from the instructions",
    )
    asked_again: int = Field(
        default=0,
        ge=0,
        description="Answers rejected by the checks (template echo, vague matter, ungrounded items) and asked again",
    )
    notice: str | None = Field(
        default=None,
        description="Set when the summary comes from a development model whose summaries are not reliable (the embedded default)",
    )
    usage: Usage
