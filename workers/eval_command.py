"""`swescribe eval`: run the real pipeline over manifests and report WER/CER by group."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import click
from tqdm import tqdm

from .evaluation.manifests import ManifestError, load_manifests
from .evaluation.report import POOLED_LABEL, group_title, write_reports
from .evaluation.results import EntryResult, summarize
from .models import load_configured_model
from .pipeline.errors import AudioDecodeError, PipelineError
from .pipeline.run import transcribe_file
from .pipeline.transcribe import TranscribeOptions, VadSettings
from .settings import Settings

DEFAULT_MANIFEST = Path("audio_fixtures") / "manifest.jsonl"


def options_from_config(config: Path | None) -> TranscribeOptions:
    """TranscribeOptions from a JSON file of field values (e.g. {"beam_size": 1}); unknown keys are errors."""
    if config is None:
        return TranscribeOptions()
    raw = json.loads(config.read_text(encoding="utf-8"))
    known = {f.name for f in fields(TranscribeOptions)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{config}: unknown options {sorted(unknown)}; known: {sorted(known)}")
    if "vad" in raw and raw["vad"] is not None:
        raw["vad"] = VadSettings(**raw["vad"])
    if "temperatures_fallback" in raw:
        raw["temperatures_fallback"] = tuple(raw["temperatures_fallback"])
    return TranscribeOptions(**raw)


def run_eval(manifests: tuple[Path, ...], model_name: str, config: Path | None, out_dir: Path, settings: Settings) -> int:
    try:
        entries = load_manifests(manifests or (DEFAULT_MANIFEST,))
        options = options_from_config(config)
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
