"""A folder's job options, from DIR/swescribe.toml or DIR/swescribe.json:

    language = "sv"          # or "auto", or another code Whisper knows
    diarize = true
    max_speakers = 4         # or num_speakers / min_speakers; need diarize = true
    summarize = true
    redact = true            # personal data replaced by [PERSONNUMMER], [NAMN], ... (redact_audio: the toned recording too)
    prompt = "Förhör med Anna Lindqvist om händelsen i Kiruna."
    hotwords = "Lindqvist Kiruna"
    webhook_url = "https://case-system.example.se/hooks/swescribe"
    model = "kb-whisper-large"   # one the operator allows (SWESCRIBE_ASR_MODELS_ALLOWED)
    retention_outbox_days = 30   # the folder's own retention of outbox/ and done/
    retention_done_days = 7      # (workers/ingest/retention.py); absent: kept

Every key is optional; an unknown key or a bad value is an error that names the file and key.
The keys are the job options of every other way in (workers/intake/options.py).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from workers.ingest.retention import RETENTION_KEYS, FolderRetention, FolderRetentionError, retention_from
from workers.intake.options import JobOptions, describe_problems

CONFIG_NAMES = ("swescribe.toml", "swescribe.json")


class FolderConfigError(ValueError):
    """The folder's config file cannot be used; the message names the file and the problem."""


def parse_folder_config(text: str, kind: str, source: str) -> JobOptions:
    """Options from the text of a config file; kind is "toml" or "json"."""
    try:
        data = tomllib.loads(text) if kind == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise FolderConfigError(f"{source}: not valid {kind.upper()}: {e}") from e
    if not isinstance(data, dict):
        raise FolderConfigError(f"{source}: expected a table of options at the top level")
    # The folder's own retention (workers/ingest/retention.py) is not a job option.
    try:
        retention_from(data, source)
    except FolderRetentionError as e:
        raise FolderConfigError(str(e)) from e
    data = {k: v for k, v in data.items() if k not in RETENTION_KEYS}
    try:
        # Strict: TOML and JSON have real booleans and numbers, so "yes" or "2" is a mistake
        # worth naming, not a value to coerce.
        return JobOptions.model_validate(data, strict=True, context={"diarize_spelling": "diarize = true"})
    except ValidationError as e:
        raise FolderConfigError(f"{source}: {describe_problems(e, noun='key')}") from e


def load_folder_config(folder: Path) -> JobOptions:
    """The options in `folder`'s config file; defaults when there is none."""
    present = [folder / name for name in CONFIG_NAMES if (folder / name).exists()]
    if len(present) > 1:
        raise FolderConfigError(f"{folder}: both {CONFIG_NAMES[0]} and {CONFIG_NAMES[1]} exist; keep one")
    if not present:
        return JobOptions()
    path = present[0]
    if path.is_symlink() or not path.is_file():
        raise FolderConfigError(f"{path}: must be a regular file in the folder, not a link or folder")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FolderConfigError(f"{path}: cannot read it: {e}") from e
    return parse_folder_config(text, path.suffix.lstrip("."), str(path))


def load_folder_retention(folder: Path) -> FolderRetention:
    """How long `folder` keeps its outbox/ and done/ files (kept, when its config says nothing).
    Read after load_folder_config accepted the file, so only the retention keys can fail here."""
    present = [folder / name for name in CONFIG_NAMES if (folder / name).is_file()]
    if not present:
        return FolderRetention()
    path = present[0]
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    try:
        return retention_from(data, str(path))
    except FolderRetentionError as e:
        raise FolderConfigError(str(e)) from e
