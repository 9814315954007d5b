"""A folder's job options, from DIR/swescribe.toml or DIR/swescribe.json:

    language = "sv"          # or "auto", or another code Whisper knows
    diarize = true
    max_speakers = 4         # or num_speakers / min_speakers; need diarize = true
    summarize = true
    prompt = "Förhör med Anna Lindqvist om händelsen i Kiruna."
    hotwords = "Lindqvist Kiruna"
    webhook_url = "https://case-system.example.se/hooks/swescribe"
    model = "kb-whisper-large"   # one the operator allows (SWESCRIBE_ASR_MODELS_ALLOWED)

Every key is optional; an unknown key or a bad value is an error that names the file and key.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator, model_validator

from ..languages import parse_language
from ..pipeline.diarize import speaker_options_problem

CONFIG_NAMES = ("swescribe.toml", "swescribe.json")


class FolderConfigError(ValueError):
    """The folder's config file cannot be used; the message names the file and the problem."""


class FolderOptions(BaseModel):
    """Job options for every recording of one folder (stored in each job's options)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: StrictStr | None = Field(default=None, description="Spoken language (sv default), or 'auto'.")
    model: StrictStr | None = Field(default=None, description="A model the operator allows; default: the configured one.")
    prompt: StrictStr | None = Field(default=None, max_length=2000, description="Initial prompt: context, spellings.")
    hotwords: StrictStr | None = Field(default=None, max_length=1000, description="Words to favour, space separated.")
    webhook_url: StrictStr | None = Field(default=None, max_length=2000, description="Where job events are POSTed.")
    diarize: StrictBool | None = Field(default=None, description="Attribute words to speakers.")
    num_speakers: StrictInt | None = Field(default=None, description="Exact number of speakers (with diarize).")
    min_speakers: StrictInt | None = Field(default=None, description="At least this many speakers (with diarize).")
    max_speakers: StrictInt | None = Field(default=None, description="At most this many speakers (with diarize).")
    summarize: StrictBool | None = Field(default=None, description="Write a Swedish summary.")

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        if value is not None:
            parse_language(value)  # ValueError with the reason
        return value

    @model_validator(mode="after")
    def _speaker_counts(self) -> "FolderOptions":
        counts = (self.num_speakers, self.min_speakers, self.max_speakers)
        problem = speaker_options_problem(bool(self.diarize), counts, "diarize = true")
        if problem:
            raise ValueError(problem)
        return self

    def job_options(self) -> dict:
        return self.model_dump(exclude_none=True)


def parse_folder_config(text: str, kind: str, source: str) -> FolderOptions:
    """Options from the text of a config file; kind is "toml" or "json"."""
    try:
        data = tomllib.loads(text) if kind == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise FolderConfigError(f"{source}: not valid {kind.upper()}: {e}") from e
    if not isinstance(data, dict):
        raise FolderConfigError(f"{source}: expected a table of options at the top level")
    try:
        return FolderOptions(**data)
    except ValidationError as e:
        raise FolderConfigError(f"{source}: {_describe(e)}") from e


def _describe(error: ValidationError) -> str:
    known = ", ".join(FolderOptions.model_fields)
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r} (known: {known})")
        elif item["type"] == "bool_type":
            problems.append(f"{key} must be true or false")
        elif item["type"] == "string_type":
            problems.append(f"{key} must be a string")
        elif item["type"] == "int_type":
            problems.append(f"{key} must be a whole number")
        else:
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
    return "; ".join(problems)


def load_folder_config(folder: Path) -> FolderOptions:
    """The options in `folder`'s config file; defaults when there is none."""
    present = [folder / name for name in CONFIG_NAMES if (folder / name).exists()]
    if len(present) > 1:
        raise FolderConfigError(f"{folder}: both {CONFIG_NAMES[0]} and {CONFIG_NAMES[1]} exist; keep one")
    if not present:
        return FolderOptions()
    path = present[0]
    if path.is_symlink() or not path.is_file():
        raise FolderConfigError(f"{path}: must be a regular file in the folder, not a link or folder")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FolderConfigError(f"{path}: cannot read it: {e}") from e
    return parse_folder_config(text, path.suffix.lstrip("."), str(path))
