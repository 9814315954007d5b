"""`swescribe eval`: run the real pipeline over manifests and report WER/CER by group.

The model and the scoring libraries are imported inside the functions that use them, so
`swescribe --help` loads neither.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import time
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click

from workers.extras import exit_unless_installed
from workers.settings import Settings, get_settings

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

    from workers.pipeline.transcribe import TranscribeOptions

DEFAULT_MANIFEST = Path("audio_fixtures") / "manifest.jsonl"


@click.command("eval")
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Manifest (JSON lines: id, file, text, ...); repeat for several. Default: audio_fixtures/manifest.jsonl.",
)
@click.option("--model", "model_name", default=None, help="Model name or folder (default: SWESCRIBE_ASR_MODEL).")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="JSON file of decoding options to evaluate instead of the defaults.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs/accuracy"),
    show_default=True,
    help="Folder for eval.json, eval.md and eval.png.",
)
def evaluate(manifests, model_name, config, out_dir) -> None:
    """Measure WER and CER per group, dialect area and condition; prints the overall WER last."""
    exit_unless_installed("the evaluation (transcription and WER scoring)", "worker", "eval")
    settings = get_settings()
    sys.exit(run_eval(tuple(manifests), model_name or settings.asr_model, config, out_dir, settings))


class ConfigError(ValueError):
    """A --config file that cannot be used, with the file and what is wrong in it."""


def production_options(settings: Settings) -> TranscribeOptions:
    """The options a job is decoded with when it asks for nothing (workers/runners/transcription.py):
    the defaults with the configured language and batch size, so eval measures that path."""
    from workers.pipeline.transcribe import TranscribeOptions
    from workers.runners.configured_models import long_batch_size
    from workers.transcript.languages import parse_language

    return TranscribeOptions(
        language=parse_language(settings.asr_language),
        batch_size=settings.asr_batch_size,
        long_batch_size=long_batch_size(settings),
    )


def options_from_config(config: Path | None, base: TranscribeOptions | None = None) -> TranscribeOptions:
    """`base` (default: TranscribeOptions()) with the values of a JSON file of option fields
    (e.g. {"beam_size": 1}) put in; a nested object (vad, guards) replaces that option whole.
    Unknown keys, wrong types and values TranscribeOptions refuses are ConfigErrors."""
    from pydantic import ValidationError

    from workers.pipeline.transcribe import TranscribeOptions

    base = TranscribeOptions() if base is None else base
    if config is None:
        return base
    try:
        values = _config_adapter().validate_json(config.read_bytes())
    except ValidationError as e:
        raise ConfigError(f"{config}: {_describe_config_error(e)}") from e
    try:
        return dataclasses.replace(base, **values)
    except ValueError as e:  # TranscribeOptions' own checks, across fields
        raise ConfigError(f"{config}: {e}") from e


@functools.cache
def _config_adapter() -> TypeAdapter:
    """Any subset of TranscribeOptions' fields, typed as the dataclass declares them.

    Strict, so `"beam_size": true` or `"5"` is a mistake rather than 1 or 5 (JSON integers
    still count as floats, JSON arrays as tuples); unknown keys are refused at every level.
    Built from the dataclass, so a new option can be set from a config file with no change here.
    """
    from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter
    from typing_extensions import TypedDict

    from workers.pipeline.transcribe import TranscribeOptions
    from workers.transcript.languages import parse_language

    hints = typing.get_type_hints(TranscribeOptions)
    fields = {}
    for field in dataclasses.fields(TranscribeOptions):
        hint = hints[field.name]
        if typing.get_origin(hint) is tuple:
            hint = Annotated[hint, Field(min_length=1)]
        fields[field.name] = hint
    # "auto" (detect) becomes None, as on the command line and in the settings.
    fields["language"] = Annotated[str | None, AfterValidator(lambda v: v if v is None else parse_language(v))]
    config = TypedDict("TranscribeConfig", fields, total=False)
    config.__pydantic_config__ = ConfigDict(strict=True, extra="forbid")
    return TypeAdapter(config)


# What each JSON type is called in a "must be" message.
_TYPE_NAMES = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str"}
_UNKNOWN_KEY = ("extra_forbidden", "unexpected_keyword_argument")


def _describe_config_error(error: ValidationError) -> str:
    """One message for the file: unknown keys if there are any (a misspelt option explains the
    rest), else each value that does not fit its option."""
    items = error.errors()
    unknown = [item for item in items if item["type"] in _UNKNOWN_KEY]
    if unknown:
        return "; ".join(_unknown_options(unknown))
    problems = []
    for item in items:
        name, kind, value = _key_name(item["loc"]), item["type"], item.get("input")
        if kind == "json_invalid":
            problems.append(f"not JSON ({item['ctx']['error']})")
        elif not item["loc"]:
            problems.append(f"expected a JSON object of options, got {type(value).__name__}")
        elif kind in _TYPE_NAMES:
            problems.append(f"{name} must be {_TYPE_NAMES[kind]}, got {value!r}")
        elif kind == "dataclass_type":
            problems.append(f"{name} must be an object of {item['ctx']['class_name']} fields, got {value!r}")
        elif kind == "tuple_type" or (kind == "too_short" and not _has_item_errors(items, item["loc"])):
            problems.append(f"{name} must be a non-empty list, got {value!r}")
        elif kind != "too_short":  # a list left empty by its bad items: those are reported
            problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def _unknown_options(items: list) -> list[str]:
    """ "unknown options [...]; known: [...]" for each object with unknown keys (the top level,
    vad, guards)."""
    by_object: dict[tuple, list[str]] = {}
    for item in items:
        by_object.setdefault(tuple(item["loc"][:-1]), []).append(_key_name(item["loc"]))
    messages = []
    for where, keys in sorted(by_object.items(), key=lambda pair: len(pair[0])):
        known = sorted(_key_name((*where, f.name)) for f in dataclasses.fields(_option_type(where)))
        messages.append(f"unknown options {sorted(keys)}; known: {known}")
    return messages


def _option_type(where: tuple) -> type:
    """The dataclass of the object at `where` in a config: () TranscribeOptions, ("vad",) VadSettings."""
    from workers.pipeline.transcribe import TranscribeOptions

    cls = TranscribeOptions
    for key in where:
        hint = typing.get_type_hints(cls)[key]
        cls = next(t for t in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(t))
    return cls


def _key_name(loc: tuple) -> str:
    """("vad", "threshold") -> "vad.threshold"; ("temperatures_fallback", 0) -> "temperatures_fallback[0]"."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts)


def _has_item_errors(items: list, loc: tuple) -> bool:
    return any(len(other["loc"]) > len(loc) and tuple(other["loc"][: len(loc)]) == tuple(loc) for other in items)


def run_eval(manifests: tuple[Path, ...], model_name: str, config: Path | None, out_dir: Path, settings: Settings) -> int:
    from tqdm import tqdm

    from workers.evaluation.manifests import ManifestError, load_manifests
    from workers.evaluation.report import write_reports
    from workers.evaluation.results import EntryResult, summarize
    from workers.pipeline.run import transcribe_file
    from workers.runners.configured_models import load_configured_model
    from workers.transcript.errors import AudioDecodeError, PipelineError

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

    summary = summarize(results, dataclasses.asdict(model.info), _describe(options))
    for path in write_reports(summary, out_dir):
        click.echo(f"wrote {path}", err=True)
    _echo_figures(summary)
    return 0


def _echo_figures(summary: dict) -> None:
    """Each group on stderr; the pooled WER alone on stdout's last line (the scripts' contract)."""
    from workers.evaluation.report import POOLED_LABEL, group_title

    for name, group in summary["by_group"].items():
        overall = group["overall"]
        click.echo(
            f"{group_title(name, group)}: WER {overall.get('wer', float('nan')):.4f} CER {overall.get('cer', float('nan')):.4f}",
            err=True,
        )
    click.echo(f"overall WER, all groups pooled ({POOLED_LABEL}):", err=True)
    click.echo(f"{summary['all_groups'].get('wer', float('nan')):.4f}")


def _describe(options: TranscribeOptions) -> dict:
    described = dataclasses.asdict(options)
    described["temperatures_fallback"] = list(options.temperatures_fallback)
    return described
