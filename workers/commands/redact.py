"""`swescribe redact TRANSCRIPT.json [--out DIR] [--format ...]`: the personal data of an
existing transcript replaced by placeholders, written as DIR/<stem>.redacted.<format>.

Exit 0 when written, 2 for a file that is not a transcript (or cannot be read) or a format the
transcript cannot have, 3 when the redaction extra is not installed.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from workers.commands.transcribe import OUTPUT_FORMATS
from workers.extras import exit_unless_installed
from workers.transcript.files import write_atomically

EXIT_OK, EXIT_USAGE = 0, 2


@click.command()
@click.argument("transcript_path", metavar="TRANSCRIPT.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for <stem>.redacted.<format> (default: the transcript's folder).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(OUTPUT_FORMATS),
    default=("json",),
    show_default=True,
    help="Output format; repeat for several.",
)
def redact(transcript_path: Path, out_dir: Path | None, formats: tuple[str, ...]) -> None:
    """Replace personal data in a transcript JSON (personnummer, phone numbers, e-mail, names,
    addresses, ...) with placeholders such as [PERSONNUMMER]; word timings are kept."""
    exit_unless_installed("redaction", "redaction")
    sys.exit(run_redact(transcript_path, out_dir or transcript_path.parent, tuple(dict.fromkeys(formats))))


def run_redact(transcript_path: Path, out_dir: Path, formats: tuple[str, ...]) -> int:
    from workers.documents.export import ExportOptions, export, file_name
    from workers.redaction.redact import redact_transcript
    from workers.transcript.formats import formats_for, transcript_from_json

    try:
        text = transcript_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        click.echo(f"swescribe: cannot read {transcript_path}: {e}", err=True)
        return EXIT_USAGE
    try:
        transcript = transcript_from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        click.echo(f"swescribe: {transcript_path} is not a swescribe transcript JSON ({type(e).__name__}: {e})", err=True)
        return EXIT_USAGE
    redacted = redact_transcript(transcript)
    unavailable = [fmt for fmt in formats if fmt not in formats_for(redacted)]
    if unavailable:
        click.echo(f"swescribe: {transcript_path} was not diarized; --format {unavailable[0]} needs speaker turns", err=True)
        return EXIT_USAGE
    stem = transcript_path.name.removesuffix(".json") if transcript_path.name.endswith(".json") else transcript_path.stem
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            write_atomically(out_dir / file_name(f"{stem}.redacted", fmt), export(redacted, fmt, ExportOptions(name=stem)))
    except OSError as e:
        click.echo(f"swescribe: cannot write into {out_dir}: {e}", err=True)
        return EXIT_USAGE
    counts = Counter(e.type for e in (redacted.redaction.entities if redacted.redaction else ()))
    listed = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "nothing found"
    click.echo(f"{transcript_path}: redacted {sum(counts.values())} spans ({listed})", err=True)
    return EXIT_OK
