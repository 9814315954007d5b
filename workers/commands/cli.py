"""The `swescribe` command line."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import click

from workers.extras import exit_unless_installed
from workers.settings import get_settings

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = ("json", "txt", "srt", "vtt", "rttm")


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
@click.option("--summarize/--no-summarize", default=False, show_default=True,
              help="Swedish summary per file: key `summary` in the JSON output and OUT/<stem>.summary.md. Uses "
                   "SWESCRIBE_LLM_BASE_URL, or starts the embedded model for the run.")
@click.option("--diarize/--no-diarize", default=False, show_default=True,
              help="Tell speakers apart (Talare 1, Talare 2, ...) word by word; needed for --format rttm.")
@click.option("--num-speakers", type=click.IntRange(1, 50), default=None, help="Exact number of speakers, when known.")
@click.option("--min-speakers", type=click.IntRange(1, 50), default=None, help="At least this many speakers.")
@click.option("--max-speakers", type=click.IntRange(1, 50), default=None, help="At most this many speakers.")
def transcribe(paths, model_name, language, formats, out_dir, prompt, hotwords, batch_size, progress, summarize,
               diarize, num_speakers, min_speakers, max_speakers) -> None:
    """Transcribe audio or video files; writes OUT/<stem>.<format> for each."""
    from workers.pipeline.diarize import speaker_count_problem

    from workers.commands.transcribe import TranscribeRequest, run_transcribe

    speaker_counts = (num_speakers, min_speakers, max_speakers)
    if not diarize and ("rttm" in formats or any(c is not None for c in speaker_counts)):
        raise click.UsageError("--format rttm and the speaker counts need --diarize")
    problem = speaker_count_problem(*speaker_counts)
    if problem:
        raise click.UsageError(problem.replace("num_speakers", "--num-speakers").replace("min_speakers", "--min-speakers")
                               .replace("max_speakers", "--max-speakers"))
    if diarize:
        exit_unless_installed("transcription with --diarize", "worker", "diarization")
    else:
        exit_unless_installed("transcription", "worker")
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
        summarize=summarize,
        diarize=diarize,
        speaker_counts=speaker_counts,
    )
    sys.exit(run_transcribe(request, settings))


@main.command("eval")
@click.option("--manifest", "manifests", multiple=True, type=click.Path(path_type=Path),
              help="Manifest (JSON lines: id, file, text, ...); repeat for several. Default: audio_fixtures/manifest.jsonl.")
@click.option("--model", "model_name", default=None, help="Model name or folder (default: SWESCRIBE_ASR_MODEL).")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file of decoding options to evaluate instead of the defaults.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/accuracy"),
              show_default=True, help="Folder for eval.json, eval.md and eval.png.")
def evaluate(manifests, model_name, config, out_dir) -> None:
    """Measure WER and CER per group, dialect area and condition; prints the overall WER last."""
    exit_unless_installed("the evaluation (transcription and WER scoring)", "worker", "eval")
    from workers.commands.evaluate import run_eval

    settings = get_settings()
    sys.exit(run_eval(tuple(manifests), model_name or settings.asr_model, config, out_dir, settings))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Apply database migrations first.")
def api(host: str, port: int, migrate: bool) -> None:
    """Serve the HTTP API (FastAPI under uvicorn)."""
    import uvicorn

    from workers.store.migrate import upgrade

    settings = get_settings()
    if migrate:
        upgrade(settings.sqlalchemy_url)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="info")


@main.command()
@click.option("--queues", default="gpu,cpu", show_default=True, help="Queues to consume: gpu (transcription), cpu.")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes; 1 per GPU for the gpu queue.")
@click.option("--name", default=None, help="Worker node name (default: <queues>@<host>).")
def worker(queues: str, concurrency: int, name: str | None) -> None:
    """Run a Celery worker."""
    from workers.tasks.celery_app import app as celery_app

    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(names) - {"gpu", "cpu"}
    if not names or unknown:
        raise click.BadParameter(f"queues must be gpu and/or cpu, got {queues!r}", param_hint="--queues")
    if "gpu" in names:
        exit_unless_installed("the gpu queue (transcription)", "worker")
    if "cpu" in names:
        from workers.tasks.webhooks import start_sweeper

        start_sweeper(get_settings())
    celery_app.worker_main([
        "worker", "--queues", ",".join(names), "--concurrency", str(concurrency), "--pool", "prefork",
        "--hostname", name or f"{'-'.join(names)}@%h", "--loglevel", "INFO",
    ])


@main.group()
def db() -> None:
    """The job database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (keeps existing rows)."""
    from workers.store.migrate import upgrade

    upgrade(get_settings().sqlalchemy_url)
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.argument("name")
def keys_create(name: str) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from workers.store.db import session_factory
    from workers.store.keys import create_key
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    try:
        record, key = create_key(session_factory(settings.sqlalchemy_url), name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="NAME") from e
    click.echo(f"created key {record.id} named {record.name!r}; it is shown only now:", err=True)
    click.echo(key)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--ingest-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also watch this ingest folder (default: SWESCRIBE_INGEST_DIR; unset: none).")
def up(host: str, port: int, ingest_dir: Path | None) -> None:
    """Start the whole local stack: Redis if needed, a worker per queue, the API (and an ingest watcher)."""
    exit_unless_installed("the local stack (its transcription worker)", "worker")
    from workers.commands.up import run_local_stack

    settings = get_settings()
    sys.exit(run_local_stack(settings, host, port, ingest_dir or settings.ingest_dir))


@main.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True, help="Keep watching DIR/inbox until stopped (Ctrl-C, SIGTERM).")
@click.option("--settle-s", type=click.FloatRange(min=0), default=None,
              help="Seconds a file's size and mtime must stay unchanged before it is taken (default: SWESCRIBE_INGEST_SETTLE_S).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr (one pass).")
def ingest(folder: Path, watch: bool, settle_s: float | None, progress: bool) -> None:
    """Transcribe the recordings in DIR/inbox into DIR/outbox; recordings go to done/ or failed/.

    Job options come from DIR/swescribe.toml or swescribe.json (language, model, prompt,
    hotwords, webhook_url, diarize, summarize). One pass waits for its jobs; exit 1 if a file
    failed, 2 if the folder or its options cannot be used.
    """
    from workers.commands.ingest import IngestRequest, run_ingest

    settings = get_settings()
    request = IngestRequest(
        folder=folder, watch=watch, settle_s=settings.ingest_settle_s if settle_s is None else settle_s,
        poll_interval_s=settings.ingest_poll_interval_s, show_progress=progress,
    )
    sys.exit(run_ingest(request, settings))


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
