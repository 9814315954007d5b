"""`swescribe eval`: run the real pipeline over manifests and report WER/CER by group."""

from __future__ import annotations

import json
import sys
import time
import types
import typing
from dataclasses import asdict, fields, is_dataclass, replace
from pathlib import Path

import click
from tqdm import tqdm

from workers.evaluation.manifests import ManifestError, load_manifests
from workers.evaluation.report import POOLED_LABEL, group_title, write_reports
from workers.evaluation.results import EntryResult, summarize
from workers.transcript.languages import parse_language
from workers.runners.configured_models import load_configured_model
from workers.transcript.errors import AudioDecodeError, PipelineError
from workers.pipeline.run import transcribe_file
from workers.pipeline.transcribe import TranscribeOptions
from workers.settings import Settings

DEFAULT_MANIFEST = Path("audio_fixtures") / "manifest.jsonl"


class ConfigError(ValueError):
    """A --config file that cannot be used, with the file and what is wrong in it."""


def production_options(settings: Settings) -> TranscribeOptions:
    """The options a job is decoded with when it asks for nothing (workers/runners/transcription.py):
    the defaults with the configured language and batch size, so eval measures that path."""
    return TranscribeOptions(language=parse_language(settings.asr_language), batch_size=settings.asr_batch_size)


def options_from_config(config: Path | None, base: TranscribeOptions = TranscribeOptions()) -> TranscribeOptions:
    """`base` with the values of a JSON file of option fields (e.g. {"beam_size": 1}) put in;
    unknown keys, wrong types and values TranscribeOptions refuses are ConfigErrors."""
    if config is None:
        return base
    raw = _read_config(config)
    try:
        values = _convert_fields(TranscribeOptions, raw)
        if isinstance(values.get("language"), str):
            values["language"] = parse_language(values["language"])
        return replace(base, **values)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{config}: {e}") from e


def _read_config(config: Path) -> dict:
    try:
        raw = json.loads(config.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{config}: not JSON ({e})") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{config}: expected a JSON object of options, got {type(raw).__name__}")
    return raw


def _convert_fields(cls: type, raw: dict, prefix: str = "") -> dict:
    """JSON values -> field values of dataclass `cls`, checked against its type hints."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown options {sorted(prefix + k for k in unknown)}; known: {sorted(prefix + k for k in known)}")
    return {name: _convert(prefix + name, hints[name], value) for name, value in raw.items()}


def _convert(name: str, hint, value):
    """One JSON value as type `hint` (int, float, bool, str, tuple[x, ...], a dataclass, X | None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (hint,) = [a for a in args if a is not type(None)]
    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be an object of {hint.__name__} fields, got {value!r}")
        return hint(**_convert_fields(hint, value, prefix=f"{name}."))
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not value:
            raise TypeError(f"{name} must be a non-empty list, got {value!r}")
        return tuple(_convert(f"{name}[{i}]", typing.get_args(hint)[0], v) for i, v in enumerate(value))
    return _scalar(name, hint, value)


def _scalar(name: str, hint: type, value):
    # bool is an int in Python, but `"beam_size": true` is a mistake, not 1.
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint)
    if ok is None:
        raise TypeError(f"{name}: options of type {hint} cannot be set from a config file")
    if not ok:
        raise TypeError(f"{name} must be {hint.__name__}, got {value!r}")
    return float(value) if hint is float else value


def run_eval(manifests: tuple[Path, ...], model_name: str, config: Path | None, out_dir: Path, settings: Settings) -> int:
    try:
        entries = load_manifests(manifests or (DEFAULT_MANIFEST,))
        options = options_from_config(config, production_options(settings))
        model = load_configured_model(model_name, settings)
    except (ManifestError, ValueError, OSError) as e:
        click.echo(f"swescribe: {e}", err=True)
        return 2
    except PipelineError as e:
        click.echo(f"swescribe: {e}", err=True)
        return 3

    results = []
    with tqdm(total=len(entries), unit="rec", desc="eval", file=sys.stderr) as bar:
        for entry in entries:
            started = time.perf_counter()
            try:
                text = transcribe_file(model, entry.path, options).text
            except AudioDecodeError as e:
                click.echo(f"swescribe: {e}", err=True)
                return 1
            results.append(EntryResult(entry, text, time.perf_counter() - started))
            bar.update(1)

    summary = summarize(results, asdict(model.info), _describe(options))
    for path in write_reports(summary, out_dir):
        click.echo(f"wrote {path}", err=True)
    _echo_figures(summary)
    return 0


def _echo_figures(summary: dict) -> None:
    """Each group on stderr; the pooled WER alone on stdout's last line (the scripts' contract)."""
    for name, group in summary["by_group"].items():
        overall = group["overall"]
        click.echo(f"{group_title(name, group)}: WER {overall.get('wer', float('nan')):.4f} "
                   f"CER {overall.get('cer', float('nan')):.4f}", err=True)
    click.echo(f"overall WER, all groups pooled ({POOLED_LABEL}):", err=True)
    click.echo(f"{summary['all_groups'].get('wer', float('nan')):.4f}")


def _describe(options: TranscribeOptions) -> dict:
    described = asdict(options)
    described["temperatures_fallback"] = list(options.temperatures_fallback)
    return described
