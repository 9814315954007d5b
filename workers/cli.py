"""The `swescribe` command line."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import click

from .settings import get_settings

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = ("json", "txt", "srt", "vtt")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """swescribe: Swedish speech to text, on your own machines."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_name", default=None, help="Model name or folder (default: SWESCRIBE_ASR_MODEL).")
@click.option("--language", default=None, help="Spoken language, e.g. sv; 'auto' detects it (default: SWESCRIBE_ASR_LANGUAGE).")
@click.option(
    "--format", "formats", multiple=True, type=click.Choice(OUTPUT_FORMATS), default=("json",), show_default=True,
    help="Output format; repeat for several.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder for DIR/<input stem>.<format>.")
@click.option("--prompt", default=None, help="Initial prompt: context and spelling, e.g. names in the case.")
@click.option("--hotwords", default=None, help="Words to favour (names, places, terms), space separated.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Batched inference: windows decoded at once; short files are packed together (default: SWESCRIBE_ASR_BATCH_SIZE).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def transcribe(paths, model_name, language, formats, out_dir, prompt, hotwords, batch_size, progress) -> None:
    """Transcribe audio or video files; writes OUT/<stem>.<format> for each."""
    from .transcribe_command import TranscribeRequest, run_transcribe

    settings = get_settings()
    request = TranscribeRequest(
        paths=tuple(paths),
        model=model_name or settings.asr_model,
        language=language or settings.asr_language,
        formats=tuple(dict.fromkeys(formats)),
        out_dir=out_dir,
        prompt=prompt,
        hotwords=hotwords,
        batch_size=batch_size or settings.asr_batch_size,
        show_progress=progress,
    )
    sys.exit(run_transcribe(request, settings))


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    main()
