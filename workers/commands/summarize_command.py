"""`swescribe summarize TRANSCRIPT.json... [--out DIR]`: summarise transcripts already made.

Writes DIR/<stem>.summary.json (the stored summary document, as GET /v1/jobs/{id}/summary
returns it) and DIR/<stem>.summary.md, whose citations link to the transcript. The endpoint
rules are those of `transcribe --summarize`: SWESCRIBE_LLM_BASE_URL if set, else the embedded
model, started here and stopped afterwards. Every file is read first: one that is not a
transcript stops the command (exit 2) before any model starts. Exit 1 when a summary failed,
3 when no model can be reached or started.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import quote

import click

from workers.settings import get_settings


@click.command("summarize")
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for <stem>.summary.json and <stem>.summary.md.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr (default: when it is a terminal).")
def summarize(transcripts: tuple[Path, ...], out_dir: Path, progress: bool | None) -> None:
    """Swedish summaries of transcript JSON files (as written by `transcribe --format json`)."""
    show_progress = sys.stderr.isatty() if progress is None else progress
    sys.exit(summarize_files(transcripts, out_dir, show_progress))


def read_transcripts(paths: tuple[Path, ...]):
    """Each path's transcript; click.UsageError-free: raises ValueError naming the file."""
    from workers.transcript.formats import transcript_from_json

    loaded = []
    for path in paths:
        try:
            loaded.append((path, transcript_from_json(path.read_text(encoding="utf-8"))))
        except OSError as e:
            raise ValueError(f"{path}: cannot read it: {e.strerror or e}") from e
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            # json.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
            raise ValueError(f"{path}: not a swescribe transcript JSON ({type(e).__name__}: {e})") from e
    return loaded


def summarize_files(paths: tuple[Path, ...], out_dir: Path, show_progress: bool) -> int:
    from workers.commands.summarize import EmbeddedServerError, open_summarizer
    from workers.summary.render import to_markdown
    from workers.transcript.files import write_atomically

    try:
        loaded = read_transcripts(paths)
    except ValueError as e:
        click.echo(f"swescribe: {e}", err=True)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    with contextlib.ExitStack() as stack:
        try:
            summarizer = open_summarizer(get_settings(), stack, show_progress)
        except EmbeddedServerError as e:
            click.echo(f"swescribe: cannot summarise: {e}", err=True)
            return 3
        for path, transcript in loaded:
            result = summarizer(path.name, transcript)
            if result.summary is None:
                failed += 1
                click.echo(f"swescribe: {path}: no summary: {result.error}", err=True)
                continue
            stem = path.name.removesuffix(".json") if path.name.endswith(".json") else path.stem
            document = json.dumps(result.summary.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
            write_atomically(out_dir / f"{stem}.summary.json", document)
            link = quote(os.path.relpath(path.resolve(), out_dir.resolve()))
            write_atomically(out_dir / f"{stem}.summary.md", to_markdown(result.summary, path.name, transcript_link=link))
            click.echo(f"wrote {out_dir / stem}.summary.json and .summary.md", err=True)
    return 1 if failed else 0
