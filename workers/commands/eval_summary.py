"""`swescribe eval-summary`: summarise every conversation of the summary evaluation set with the
configured endpoint (or the embedded model) and score each summary against its reference facts.

The same command measures any OpenAI-compatible endpoint (SWESCRIBE_LLM_BASE_URL), so an
operator scores Mistral Small exactly as the embedded model is scored. Heavy imports are inside
the functions, so `swescribe --help` stays light.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from workers.settings import Settings, get_settings

DEFAULT_MANIFEST = Path("audio_fixtures") / "summaries" / "manifest.jsonl"


@click.command("eval-summary")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_MANIFEST,
    show_default=True,
    help="Summary evaluation manifest (JSON lines: id, file, reference facts).",
)
@click.option("--only", multiple=True, help="Conversation id to evaluate; repeat for several. Default: all.")
@click.option("--prompt", "prompt_variant", default="worked_example", show_default=True, help="Prompt variant to measure.")
@click.option(
    "--quality-retries",
    type=click.IntRange(0, 5),
    default=1,
    show_default=True,
    help="Times an answer rejected by the checks is asked again, per request.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs/accuracy"),
    show_default=True,
    help="Folder for the report.",
)
@click.option("--name", default="summary_eval", show_default=True, help="Report file name (NAME.json, NAME.md).")
def eval_summary(manifest, only, prompt_variant, quality_retries, out_dir, name) -> None:
    """Score summaries: fact recall per field, traps, unsupported items, template echoes,
    citations, Swedish; prints the overall fact recall last."""
    settings = get_settings()
    sys.exit(run_summary_eval(manifest, tuple(only), prompt_variant, quality_retries, out_dir, name, settings))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({_cores()} cores)"
    return f"{platform.processor() or platform.machine()} ({_cores()} cores)"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_summary_eval(
    manifest: Path,
    only: tuple[str, ...],
    prompt_variant: str,
    quality_retries: int,
    out_dir: Path,
    name: str,
    settings: Settings,
) -> int:
    from workers.commands.summarize import open_summarizer
    from workers.evaluation.summary_report import (
        EntryOutcome,
        SummaryManifestError,
        load_summary_manifest,
        summarize_outcomes,
        write_summary_reports,
    )
    from workers.evaluation.summary_scoring import failed_score, score_summary
    from workers.summary.checks import EchoCheck
    from workers.summary.embedded_server import EmbeddedServerError
    from workers.summary.prompt import instruction_text, system_prompt
    from workers.transcript.formats import transcript_from_json

    try:
        system_prompt(prompt_variant)
        entries = load_summary_manifest(manifest)
    except (SummaryManifestError, ValueError) as e:
        click.echo(f"swescribe: {e}", err=True)
        return 2
    unknown = sorted(set(only) - {e.id for e in entries})
    if unknown:
        click.echo(f"swescribe: not in {manifest}: {', '.join(unknown)}", err=True)
        return 2
    if only:
        entries = [e for e in entries if e.id in only]

    def describe(endpoint, options, partial: bool) -> dict:
        return {
            "model": endpoint.model,
            "endpoint": endpoint.base_url,
            "prompt": prompt_variant,
            "quality_retries": quality_retries,
            "context_tokens": options.context_tokens,
            "max_output_tokens": options.max_output_tokens,
            "manifest": str(manifest),
            "only": list(only),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu_model(),
            "partial": partial,
        }

    outcomes = []
    with contextlib.ExitStack() as stack:
        try:
            summarizer = open_summarizer(settings, stack, show_progress=False)
        except EmbeddedServerError as e:
            click.echo(f"swescribe: {e}", err=True)
            return 3
        options = dataclasses.replace(summarizer.options, prompt=prompt_variant, quality_retries=quality_retries)
        summarizer = dataclasses.replace(summarizer, options=options)
        for number, entry in enumerate(entries, 1):
            transcript = transcript_from_json(entry.path.read_text(encoding="utf-8"))
            started = time.perf_counter()
            result = summarizer(entry.id, transcript)
            seconds = time.perf_counter() - started
            if result.summary is None:
                score = failed_score(entry.reference)
                summary = None
            else:
                summary = result.summary.model_dump(mode="json")
                echo = EchoCheck.build(instruction_text(), " ".join(s.text for s in transcript.segments))
                score = score_summary(entry.reference, summary, transcript, echo)
            outcomes.append(EntryOutcome(entry, score, seconds, summary, result.error))
            # The report so far after each conversation: a long run stopped midway still leaves its figures.
            write_summary_reports(
                summarize_outcomes(outcomes, describe(summarizer.endpoint, options, partial=True)), out_dir, name
            )
            click.echo(
                f"[{number}/{len(entries)}] {entry.id}: {seconds:.0f} s, matter {'found' if score.matter_hit else 'missed'}, "
                f"decisions {score.decisions_hit}/{score.decisions_total}, actions {score.actions_hit}/{score.actions_total}, "
                f"traps {score.traps_hit}, echoes {score.template_echoes}{', error: ' + result.error if result.error else ''}",
                err=True,
            )
        endpoint = summarizer.endpoint

    run = describe(endpoint, options, partial=False)
    report = summarize_outcomes(outcomes, run)
    for path in write_summary_reports(report, out_dir, name):
        click.echo(f"wrote {path}", err=True)
    overall = report["overall"]
    click.echo(
        f"template echoes {overall['template_echoes']}, missing citations {overall['missing_citations']}, "
        f"traps fallen {overall['traps_fallen']}/{overall['traps']}; overall fact recall:",
        err=True,
    )
    click.echo(f"{overall['fact_recall']:.4f}")
    return 0
