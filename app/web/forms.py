"""The upload form's controls, read from JobOptions, so an option added there appears here
(labelled by its description until the catalogue names it)."""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union, get_args, get_origin

from annotated_types import MaxLen

from app.web.i18n import has_message
from workers.intake.options import JobOptions
from workers.settings import Settings
from workers.transcript.speaker_counts import MAX_SPEAKERS

# Set over the API, not per upload here: a webhook needs the key's signing secret first.
NOT_IN_FORM = frozenset({"webhook_url"})
# Offered first; any other code Whisper knows is still accepted over the API.
LANGUAGE_CHOICES = (("sv", "svenska"), ("en", "English"), ("no", "norsk"), ("da", "dansk"), ("fi", "suomi"), ("de", "Deutsch"))


@dataclass(frozen=True)
class Control:
    name: str
    kind: str  # "checkbox", "number", "text", "select"
    label: str
    hint: str | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    needs: str | None = None  # another option that must be on for this one to apply


def _kind(annotation: object) -> str:
    args = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    if bool in args:
        return "checkbox"
    if int in args:
        return "number"
    return "text"


def option_controls(settings: Settings, t: Callable[[str], str]) -> list[Control]:
    controls = []
    for name, field in JobOptions.model_fields.items():
        if name in NOT_IN_FORM:
            continue
        label = t(f"option.{name}") if has_message(f"option.{name}") else name
        hint = None if has_message(f"option.{name}") else field.description
        if name == "language":
            choices = (*LANGUAGE_CHOICES, ("auto", t("option.language.auto")))
            controls.append(Control(name, "select", label, choices=choices))
        elif name == "model":
            if len(settings.allowed_models) > 1:  # one model: nothing to choose
                controls.append(Control(name, "select", label, choices=tuple((m, m) for m in settings.allowed_models)))
        elif _kind(field.annotation) == "number":
            # Speaker counts apply with diarize (the model's rule); the page disables them without it.
            needs = "diarize" if name.endswith("_speakers") and "diarize" in JobOptions.model_fields else None
            controls.append(Control(name, "number", label, hint, minimum=1, maximum=MAX_SPEAKERS, needs=needs))
        else:
            max_length = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
            controls.append(Control(name, _kind(field.annotation), label, hint, max_length=max_length))
    return controls
