"""Summaries in `swescribe transcribe --summarize`: the endpoint (or the embedded server, started
here and stopped afterwards), one summary per transcript, and what is written for it."""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from tqdm import tqdm

from workers.settings import Settings
from workers.summary.client import LlmEndpoint
from workers.summary.configured import endpoint_from_settings, options_from_settings, with_embedded
from workers.summary.embedded_server import EmbeddedServerError, start_embedded_server, wait_ready
from workers.summary.render import to_markdown
from workers.summary.schema import Summary
from workers.summary.summarize import SummaryOptions, summarize_transcript
from workers.transcript.errors import PipelineError
from workers.transcript.formats import to_dict
from workers.transcript.types import Transcript


@dataclass(frozen=True)
class SummaryResult:
    summary: Summary | None
    error: str | None  # why there is no summary


@dataclass(frozen=True)
class Summarizer:
    endpoint: LlmEndpoint
    options: SummaryOptions
    show_progress: bool

    def __call__(self, name: str, transcript: Transcript) -> SummaryResult:
        bar = tqdm(
            total=100,
            desc=f"summary {name}",
            unit="%",
            file=sys.stderr,
            disable=not self.show_progress,
            bar_format="{l_bar}{bar}| [{elapsed}<{remaining}]",
        )
        done = 0

        def advance(fraction: float) -> None:
            nonlocal done
            target = int(fraction * 100)
            if target > done:
                bar.update(target - done)
                done = target

        try:
            return SummaryResult(summarize_transcript(transcript, self.endpoint, self.options, advance), None)
        except PipelineError as e:
            return SummaryResult(None, str(e))
        except ValueError as e:  # settings that leave the transcript no room
            return SummaryResult(None, str(e))
        finally:
            bar.close()


def open_summarizer(settings: Settings, stack: contextlib.ExitStack, show_progress: bool) -> Summarizer:
    """The configured endpoint, or the embedded server started now and stopped with `stack`.
    Raises EmbeddedServerError when neither is available."""
    if not settings.llm_base_url:
        click.echo("swescribe: no SWESCRIBE_LLM_BASE_URL; starting the embedded summary model", err=True)
        server = start_embedded_server(settings, settings.data_dir / "logs" / "llm.log")
        stack.callback(server.stop)
        wait_ready(server)
        settings = with_embedded(settings, server.base_url)
    return Summarizer(endpoint_from_settings(settings), options_from_settings(settings), show_progress)


def json_with_summary(transcript: Transcript, result: SummaryResult) -> str:
    """The transcript JSON with key `summary` (null when it failed, and `summary_error` why)."""
    data = to_dict(transcript)
    data["summary"] = result.summary.model_dump(mode="json") if result.summary else None
    if result.error:
        data["summary_error"] = result.error
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def summary_markdown(path: Path, result: SummaryResult) -> str | None:
    return to_markdown(result.summary, path.name) if result.summary else None


__all__ = ["EmbeddedServerError", "Summarizer", "SummaryResult", "json_with_summary", "open_summarizer", "summary_markdown"]
