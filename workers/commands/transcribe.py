"""`swescribe transcribe`: files in, OUT/<stem>.<format> out, one line per failed file.

The model code (faster-whisper, pyannote, the summary model) is imported inside the functions
that run it, so `swescribe --help` loads none of it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workers.extras import exit_unless_installed
from workers.settings import Settings, get_settings
from workers.transcript.errors import AudioDecodeError, DiarizationError, PipelineError
from workers.transcript.files import write_atomically
from workers.transcript.speaker_counts import MAX_SPEAKERS

if TYPE_CHECKING:
    from pydantic import ValidationError
    from tqdm import tqdm

    from workers.pipeline.transcribe import TranscribeOptions
    from workers.transcript.types import Transcript

logger = logging.getLogger(__name__)

# workers.transcript.formats.FORMATS, spelled out so that --help does not import it (and numpy).
OUTPUT_FORMATS = ("json", "txt", "txt-plain", "srt", "vtt", "rttm", "docx")
# Short files packed together are decoded this many at a time, to bound memory.
PACK_GROUP_SIZE = 64
EXIT_OK, EXIT_SOME_FAILED, EXIT_MODEL_ERROR, EXIT_USAGE = 0, 1, 3, 2


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_name", default=None, help="Model name or folder (default: SWESCRIBE_ASR_MODEL).")
@click.option("--language", default=None, help="Spoken language, e.g. sv; 'auto' detects it (default: SWESCRIBE_ASR_LANGUAGE).")
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(OUTPUT_FORMATS),
    default=("json",),
    show_default=True,
    help="Output format; repeat for several. txt has a [mm:ss] time per paragraph, txt-plain (OUT/<stem>.plain.txt) "
    "none; docx is a Word document (with the summary under --summarize).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for DIR/<input stem>.<format>.",
)
@click.option("--prompt", default=None, help="Initial prompt: context and spelling, e.g. names in the case.")
@click.option("--hotwords", default=None, help="Words to favour (names, places, terms), space separated.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Batched inference: windows decoded at once; short files are packed together (default: SWESCRIBE_ASR_BATCH_SIZE).",
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
@click.option(
    "--summarize/--no-summarize",
    default=False,
    show_default=True,
    help="Swedish summary per file: key `summary` in the JSON output and OUT/<stem>.summary.md. Uses "
    "SWESCRIBE_LLM_BASE_URL, or starts the embedded model for the run.",
)
@click.option(
    "--diarize/--no-diarize",
    default=False,
    show_default=True,
    help="Tell speakers apart (Talare 1, Talare 2, ...) word by word; needed for --format rttm.",
)
@click.option(
    "--redact/--no-redact",
    default=False,
    show_default=True,
    help="Replace personal data (personnummer, phone numbers, e-mail, names, addresses, ...) with placeholders such as "
    "[PERSONNUMMER] in every output and the summary; the unredacted text is written nowhere.",
)
@click.option("--num-speakers", type=click.IntRange(1, MAX_SPEAKERS), default=None, help="Exact number of speakers, when known.")
@click.option("--min-speakers", type=click.IntRange(1, MAX_SPEAKERS), default=None, help="At least this many speakers.")
@click.option("--max-speakers", type=click.IntRange(1, MAX_SPEAKERS), default=None, help="At most this many speakers.")
def transcribe(
    paths,
    model_name,
    language,
    formats,
    out_dir,
    prompt,
    hotwords,
    batch_size,
    progress,
    summarize,
    diarize,
    redact,
    num_speakers,
    min_speakers,
    max_speakers,
) -> None:
    """Transcribe audio or video files; writes OUT/<stem>.<format> for each."""
    if "rttm" in formats and not diarize:
        raise click.UsageError("--format rttm writes speaker turns, which need --diarize")
    speaker_counts = (num_speakers, min_speakers, max_speakers)
    check_job_options(
        language=language,
        prompt=prompt,
        hotwords=hotwords,
        diarize=diarize,
        summarize=summarize,
        redact=redact,
        num_speakers=num_speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
    )
    if diarize:
        exit_unless_installed("transcription with --diarize", "worker", "diarization")
    else:
        exit_unless_installed("transcription", "worker")
    if redact:
        exit_unless_installed("transcription with --redact", "redaction")
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
        redact=redact,
        subtitle_lines=(settings.subtitle_max_line_chars, settings.subtitle_max_lines),
    )
    sys.exit(run_transcribe(request, settings))


def check_job_options(**given) -> None:
    """Refuse what a job submitted over the API is refused for (JobOptions), as a usage error
    naming this command's options. Options not given (None) get their defaults from the
    settings and are not checked here. Nor is --model: the operator may run any model or model
    folder, not only those the service offers (check_allowed)."""
    from pydantic import ValidationError

    from workers.intake.options import JobOptions

    values = {name: value for name, value in given.items() if value is not None}
    try:
        JobOptions.model_validate(values, context={"diarize_spelling": "--diarize"})
    except ValidationError as e:
        raise click.UsageError(_usage_message(e)) from e


def _usage_message(error: ValidationError) -> str:
    """Each problem with the option named as typed: num_speakers -> --num-speakers."""
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["loc"]:
            problems.append(f"{_flag(str(item['loc'][0]))}: {message}")
        else:
            # A rule across fields (the speaker counts) names them in its message.
            problems.append(re.sub(r"(?<![\w-])(num|min|max)_speakers\b", lambda m: _flag(m[0]), message))
    return "; ".join(problems)


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


@dataclass(frozen=True)
class TranscribeRequest:
    paths: tuple[Path, ...]
    model: str
    language: str
    formats: tuple[str, ...]
    out_dir: Path
    prompt: str | None
    hotwords: str | None
    batch_size: int
    show_progress: bool
    # A Swedish summary per file: key `summary` in the JSON output and <stem>.summary.md.
    summarize: bool = False
    # Speakers word by word; (num_speakers, min_speakers, max_speakers), validated by the CLI.
    diarize: bool = False
    speaker_counts: tuple[int | None, int | None, int | None] = (None, None, None)
    # How subtitles are cut: (SWESCRIBE_SUBTITLE_MAX_LINE_CHARS, SWESCRIBE_SUBTITLE_MAX_LINES).
    subtitle_lines: tuple[int, int] = (42, 2)
    # Personal data replaced by placeholders before anything is written or summarised.
    redact: bool = False


def run_transcribe(request: TranscribeRequest, settings: Settings) -> int:
    from workers.pipeline.diarize import DiarizeOptions
    from workers.pipeline.run import DiarizationStep
    from workers.pipeline.transcribe import TranscribeOptions
    from workers.runners.configured_models import load_configured_diarizer, load_configured_model, long_batch_size
    from workers.transcript.languages import parse_language

    clash = _first_stem_clash(request.paths)
    if clash:
        click.echo(
            f"swescribe: {clash[0]} and {clash[1]} would both write {clash[0].stem}.*; transcribe them into separate --out folders",
            err=True,
        )
        return EXIT_USAGE
    try:
        options = TranscribeOptions(
            language=parse_language(request.language),
            initial_prompt=request.prompt,
            hotwords=request.hotwords,
            batch_size=request.batch_size,
            long_batch_size=long_batch_size(settings),
        )
        model = load_configured_model(request.model, settings)
        diarization = None
        if request.diarize:
            diarization = DiarizationStep(load_configured_diarizer(settings), DiarizeOptions(*request.speaker_counts))
    except PipelineError as e:
        click.echo(f"swescribe: {e}", err=True)
        return EXIT_MODEL_ERROR
    except ValueError as e:
        click.echo(f"swescribe: {e}", err=True)
        return EXIT_USAGE

    with contextlib.ExitStack() as stack:
        summarizer = None
        if request.summarize:
            from workers.commands.summarize import EmbeddedServerError, open_summarizer

            try:
                summarizer = open_summarizer(settings, stack, request.show_progress)
            except EmbeddedServerError as e:
                click.echo(f"swescribe: cannot summarise: {e}", err=True)
                return EXIT_MODEL_ERROR
        return _run_all(request, model, options, summarizer, diarization)


def _write_outputs(request: TranscribeRequest, path: Path, transcript: Transcript, summarizer) -> str | None:
    """Write every output of one file; the summary's error, if it failed. The transcript is
    written before the summary is asked for, so a slow or failing LLM never costs it."""
    from dataclasses import replace
    from datetime import datetime

    from workers.documents.export import ExportOptions, export, file_name
    from workers.transcript.subtitles import SubtitleOptions

    if request.redact:
        from workers.redaction.redact import redact_transcript

        # Before any output and before the summary: the original is written nowhere.
        transcript = redact_transcript(transcript)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    max_line_chars, max_lines = request.subtitle_lines
    options = ExportOptions(
        name=path.stem,
        title=path.name,
        created_at=datetime.now().astimezone(),
        subtitles=SubtitleOptions(max_line_chars=max_line_chars, max_lines=max_lines),
    )
    # The DOCX holds the summary: under --summarize it is written once the summary is there.
    after_summary = ("docx",) if summarizer is not None else ()
    for fmt in request.formats:
        if fmt not in after_summary:
            write_atomically(request.out_dir / file_name(path.stem, fmt), export(transcript, fmt, options))
    if summarizer is None:
        return None
    from workers.commands.summarize import json_with_summary, summary_markdown

    result = summarizer(path.name, transcript)
    for fmt in after_summary:
        if fmt in request.formats:
            document = export(transcript, fmt, replace(options, summary=result.summary))
            write_atomically(request.out_dir / file_name(path.stem, fmt), document)
    if "json" in request.formats:
        write_atomically(request.out_dir / f"{path.stem}.json", json_with_summary(transcript, result))
    markdown = summary_markdown(path, result)
    if markdown is not None:
        write_atomically(request.out_dir / f"{path.stem}.summary.md", markdown)
    return result.error


def _run_all(request: TranscribeRequest, model, options: TranscribeOptions, summarizer, diarization) -> int:
    from tqdm import tqdm

    from workers.transcript.audio import probe_duration_s

    durations = {p: probe_duration_s(p) or 0.0 for p in request.paths}
    bar = tqdm(
        total=sum(durations.values()),
        unit="s",
        desc="audio",
        file=sys.stderr,
        disable=not request.show_progress,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]",
    )
    failed = 0
    try:
        for path, result in _transcribe_all(model, request, options, durations, bar, diarization):
            if isinstance(result, Exception):
                failed += 1
                tqdm.write(f"error: {_reason(path, result)}", file=sys.stderr)
                continue
            try:
                summary_error = _write_outputs(request, path, result, summarizer)
                if summary_error:
                    failed += 1
                    tqdm.write(f"error: {path}: summary failed (transcript written): {summary_error}", file=sys.stderr)
            except OSError as e:
                failed += 1
                tqdm.write(f"error: {path}: cannot write output: {e}", file=sys.stderr)
    except PipelineError as e:
        bar.close()
        click.echo(f"swescribe: {e}", err=True)
        return EXIT_MODEL_ERROR
    bar.close()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _first_stem_clash(paths: tuple[Path, ...]) -> tuple[Path, Path] | None:
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen and seen[path.stem].resolve() != path.resolve():
            return seen[path.stem], path
        seen.setdefault(path.stem, path)
    return None


def _reason(path: Path, error: Exception) -> str:
    if isinstance(error, (AudioDecodeError, DiarizationError)):
        return str(error)
    return f"{path}: {type(error).__name__}: {error}"


class _BarHook:
    """Advances the bar by a file's share of audio seconds as its progress fraction rises."""

    def __init__(self, bar: tqdm, duration_s: float):
        self.bar, self.duration_s, self.done_s = bar, duration_s, 0.0

    def __call__(self, fraction: float) -> None:
        target = fraction * self.duration_s
        if target > self.done_s:
            self.bar.update(target - self.done_s)
            self.done_s = target

    def finish(self) -> None:
        self(1.0)


def _transcribe_all(model, request, options, durations, bar, diarization) -> Iterator[tuple[Path, Transcript | Exception]]:
    """Yield (path, transcript or the per-file error) in input order of processing.

    PipelineErrors that are not about one file (the model going away) propagate.
    """
    from workers.pipeline.batch import PackingOptions
    from workers.pipeline.run import transcribe_file

    max_packed_s = PackingOptions().max_window_s
    # Packing merges files into shared windows: only for recognition alone.
    packable = [p for p in request.paths if diarization is None and request.batch_size > 1 and 0 < durations[p] <= max_packed_s]
    for start in range(0, len(packable), PACK_GROUP_SIZE):
        yield from _transcribe_packed(model, packable[start : start + PACK_GROUP_SIZE], request, options, durations, bar)
    for path in request.paths:
        if path in packable:
            continue
        hook = _BarHook(bar, durations[path])
        try:
            yield path, transcribe_file(model, path, options, hook, diarization)
        except (AudioDecodeError, DiarizationError, OSError) as e:
            yield path, e
        finally:
            hook.finish()


def _transcribe_packed(model, paths, request, options, durations, bar):
    from workers.pipeline.batch import PackingOptions, transcribe_many
    from workers.transcript.audio import decode_audio

    decoded = []
    for path in paths:
        try:
            decoded.append((path, decode_audio(path)))
        except AudioDecodeError as e:
            bar.update(durations[path])
            yield path, e
    if not decoded:
        return
    total_s = sum(durations[p] for p, _ in decoded)
    hook = _BarHook(bar, total_s)
    transcripts = transcribe_many(model, [a for _, a in decoded], options, PackingOptions(batch_size=request.batch_size), hook)
    hook.finish()
    for (path, _), transcript in zip(decoded, transcripts):
        yield path, transcript
