"""Long recordings: sequential decoding vs faster-whisper's BatchedInferencePipeline on this machine.

One long recording (--minutes, default 10), built at run time by make_audio.py beside this file
from the real Swedish speech clips and the SYNTHETIC (espeak-ng) clips with a fixed seed, is
transcribed once per batch size (--batch-sizes, default 1,4,8), each time in a fresh process
(transcribe_one.py) running the project's own code path: resolve_model + load_model, then
workers.pipeline.transcribe.transcribe with TranscribeOptions(batch_size=N), everything else at
its defaults. batch_size 1 is sequential decoding (WhisperModel.transcribe, temperature
fallback); above 1 it is BatchedInferencePipeline over the VAD's speech chunks.

Per batch size: wall time of the whole process and of the transcription alone, CPU time (the
child's user + system time, and the transcription's own), real-time factor (transcription wall
/ audio duration), peak RSS of the child (ru_maxrss), and WER through the project's Swedish
normalisation (workers.evaluation.scoring, jiwer): overall, on the real-speech clips and on the
synthetic clips, each transcribed word being put back on the clip whose span (clip plus the
pause after it) holds the word's midpoint.

Results go to a JSON file (--results, default docs/long_batched.json) and to the
"## Long recordings, batched decoding (bench/long_batched)" section of docs/benchmarks.md
(--docs); the rest of that file is left alone. The exit code is 1 only when a run failed.

    python bench/long_batched/run.py                                   # 10 min, batch 1, 4, 8
    python bench/long_batched/run.py --minutes 1 --results /tmp/lb.json --docs /tmp/lb.md   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)
from measure import run_child  # noqa: E402  (bench/asr: wall, CPU and peak RSS of a child)

from workers.evaluation.normalize import normalize_swedish  # noqa: E402
from workers.evaluation.scoring import error_rates  # noqa: E402

SECTION_HEADING = "## Long recordings, batched decoding (bench/long_batched)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_at_start = os.getloadavg()
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)

    log(f"building a {args.minutes:g} min recording in {work}")
    build = run_child(
        [
            sys.executable,
            str(HERE / "make_audio.py"),
            "--work-dir",
            str(work),
            "--minutes",
            str(args.minutes),
            "--seed",
            str(args.seed),
        ],
        env,
        REPO,
        work / "logs" / "make_audio.log",
        log,
    )
    if build.returncode != 0:
        log(f"FAILED: make_audio.py exited with {build.returncode}; see {work / 'logs' / 'make_audio.log'}")
        return 1
    recording = json.loads((work / "recording.json").read_text(encoding="utf-8"))

    runs = []
    for batch_size in args.batch_sizes:
        log(f"batch size {batch_size}: transcribing {recording['duration_s']:.0f} s")
        out = work / f"batch_{batch_size}.json"
        cmd = [
            sys.executable,
            str(HERE / "transcribe_one.py"),
            "--audio",
            recording["path"],
            "--batch-size",
            str(batch_size),
            "--out",
            str(out),
            "--model",
            args.model,
            "--models-dir",
            str(work / "models"),
            "--cpu-threads",
            str(args.cpu_threads),
        ]
        child = run_child(cmd, env, REPO, work / "logs" / f"batch_{batch_size}.log", log)
        if child.returncode != 0:
            log(f"FAILED: batch size {batch_size} exited with {child.returncode}; see {work / 'logs'}")
            return 1
        heard = json.loads(out.read_text(encoding="utf-8"))
        row = summarise(batch_size, child, heard, recording)
        log(
            f"  transcription {row['transcribe_s']:.1f} s (RTF {row['rtf']:.3f}), process {row['wall_s']:.1f} s, "
            f"CPU {row['cpu_s']:.1f} s, peak RSS {row['peak_rss_mb']:.0f} MiB, WER real {_pct(row['wer_real'])}, "
            f"synthetic {_pct(row['wer_synthetic'])}"
        )
        runs.append((row, heard["model"]))

    rows = [row for row, _ in runs]
    results = {
        "benchmark": "long_batched",
        "date_utc": date_utc,
        "command": "python bench/long_batched/run.py" + (" " + shlex.join(argv) if argv else ""),
        "machine": {**report.machine_info(), "load_average_start": [round(x, 2) for x in load_at_start]},
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "model": runs[0][1],
        "cpu_threads": args.cpu_threads,
        "recording": {
            "minutes": args.minutes,
            "seed": args.seed,
            "duration_s": recording["duration_s"],
            "clips": len(recording["clips"]),
            "real_clips": sum(c["real"] for c in recording["clips"]),
            "synthetic_clips": sum(not c["real"] for c in recording["clips"]),
            "speech_s": round(sum(c["end_s"] - c["start_s"] for c in recording["clips"]), 1),
        },
        "runs": rows,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _update_docs(args.docs, render_section(results))
    log(f"wrote {args.results} and the section of {args.docs}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the recording")
    parser.add_argument("--batch-sizes", type=_ints, default=[1, 4, 8], help="comma separated; 1 is sequential")
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--model", default="whisper-base-offline", help="model name or folder, as for swescribe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-long-batched")
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "long_batched.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    for name in ("work_dir", "results", "docs"):
        setattr(args, name, getattr(args, name).resolve())
    if args.minutes <= 0 or not args.batch_sizes or min(args.batch_sizes) < 1:
        parser.error("--minutes must be positive and every batch size at least 1")
    return args


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _update_docs(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else report.DOCS_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.replace_section(text, SECTION_HEADING, section), encoding="utf-8")


# --- scoring ---------------------------------------------------------------------------------


def words_by_clip(words: list[dict], clips: list[dict]) -> list[list[str]]:
    """Each word on the clip whose span holds its midpoint. A clip's span runs from its start to
    the next clip's start (its pause included); words before the first clip go to the first,
    words after the last clip's start to the last."""
    starts = [c["start_s"] for c in clips]
    out: list[list[str]] = [[] for _ in clips]
    for word in words:
        middle = (word["start_s"] + word["end_s"]) / 2
        index = max(0, sum(1 for s in starts if s <= middle) - 1)
        out[index].append(word["text"])
    return out


def wer_of(clips: list[dict], heard: list[list[str]], real: bool | None) -> float | None:
    """Corpus WER over the clips of one kind (None: all), against each clip's own reference."""
    pairs = [(c["text"], " ".join(h)) for c, h in zip(clips, heard, strict=True) if real is None or c["real"] == real]
    pairs = [(r, h) for r, h in pairs if normalize_swedish(r)]
    if not pairs:
        return None
    return error_rates([r for r, _ in pairs], [h for _, h in pairs]).wer


def summarise(batch_size: int, child, heard: dict, recording: dict) -> dict:
    clips = recording["clips"]
    per_clip = words_by_clip(heard["words"], clips)
    audio_s = recording["duration_s"]
    whole = error_rates([" ".join(c["text"] for c in clips)], [heard["text"]])
    return {
        "batch_size": batch_size,
        "mode": "sequential" if batch_size == 1 else "BatchedInferencePipeline",
        "wall_s": round(child.wall_s, 1),
        "cpu_s": round(child.cpu_s, 1),
        "peak_rss_mb": round(child.peak_rss_mb),
        "load_s": heard["load_s"],
        "decode_s": heard["decode_s"],
        "transcribe_s": heard["transcribe_s"],
        "transcribe_cpu_s": heard["transcribe_cpu_s"],
        "rtf": round(heard["transcribe_s"] / audio_s, 4),
        "rtf_process": round(child.wall_s / audio_s, 4),
        "segments": heard["segments"],
        "words": len(heard["words"]),
        "wer": whole.wer,
        "wer_real": wer_of(clips, per_clip, real=True),
        "wer_synthetic": wer_of(clips, per_clip, real=False),
        "wer_clips": wer_of(clips, per_clip, real=None),
    }


# --- report ----------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def render_section(results: dict) -> str:
    machine, model, rec = results["machine"], results["model"], results["recording"]
    runs = results["runs"]
    base = next((r for r in runs if r["batch_size"] == 1), None)
    lines = [
        SECTION_HEADING,
        "",
        f"Run {results['date_utc']} on {machine['cpu_model']} (the model name /proc/cpuinfo gives; "
        f"{machine['cores']} cores, {machine['ram_gib']} GiB RAM), {machine['os']}; Python {machine['python']}. "
        f"Load average (1, 5, 15 min) at the start {', '.join(map(str, machine['load_average_start']))}, "
        f"at the end {', '.join(map(str, results['load_average_end']))}. "
        f"Model `{model['name']}` (revision `{model['revision']}`) on {model['device']}/{model['compute_type']}, "
        f"{results['cpu_threads']} CPU threads. Command: `{results['command']}`.",
        "",
        f"Audio: one {rec['minutes']:g}-minute recording ({rec['duration_s']:.0f} s, {rec['speech_s']:.0f} s of it speech) of "
        f"{rec['clips']} clips in turn, {rec['real_clips']} of real human Swedish speech (audio_fixtures/real_speech) and "
        f"{rec['synthetic_clips']} SYNTHETIC (espeak-ng, audio_fixtures), 0.5-1.5 s pauses, seed {rec['seed']}.",
        "",
        "| batch size | decoding | transcription (s) | RTF | process wall (s) | CPU (s) | transcription CPU (s) | peak RSS (MiB) "
        "| words | WER real | WER synthetic | WER all | speed-up |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        speedup = f"{base['transcribe_s'] / r['transcribe_s']:.2f}x" if base else "-"
        lines.append(
            f"| {r['batch_size']} | {r['mode']} | {r['transcribe_s']:.1f} | {r['rtf']:.3f} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
            f"| {r['transcribe_cpu_s']:.1f} | {r['peak_rss_mb']} | {r['words']} | {_pct(r['wer_real'])} "
            f"| {_pct(r['wer_synthetic'])} | {_pct(r['wer'])} | {speedup} |"
        )
    lines += [
        "",
        "Transcription is the in-process time of `transcribe()` (VAD, decoding, word timestamps, guards); RTF = "
        "transcription / audio duration. Process wall, CPU and peak RSS are the whole child process (imports, model load, "
        "decoding the file, transcription). WER real / synthetic: each transcribed word is put back on the clip whose span "
        "holds its midpoint and scored against that clip's text (the project's Swedish normalisation, jiwer); WER all "
        "compares the whole transcript with all the references in order. Speed-up is sequential transcription time / this "
        "row's. Results: `docs/long_batched.json`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
