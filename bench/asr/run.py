"""ASR benchmark: swescribe's cost over plain faster-whisper, and batched short clips.

One run measures, on this machine (the CPU unless CTranslate2 sees a GPU):

A. Long recordings (--minutes-long, default 10 and 60 minutes), built at run time from the real
   and synthetic Swedish speech clips with 0.5-1.5 s pauses. Each one is transcribed twice,
   each time in its own process with the same environment and CPU threads:
   - `swescribe transcribe FILE --format json --out DIR --no-progress` (the real CLI);
   - plain_faster_whisper.py: faster-whisper called directly on the same model folder, device
     and compute type, with the decoding settings swescribe uses (`whisper_kwargs`).
   Per run: wall time (process start and model load included, alike for both), real-time
   factor (wall / audio duration), CPU time, peak RSS of the child, word count and WER against
   the texts of the clips it was built from. Reported: the swescribe/plain wall-time ratio.
B. Short clips (--short-clips, default 200) of 3-8 s, copies of the same speech clips with
   their own gain and leading silence, all in one `swescribe transcribe` call, once with
   --batch-size 1 (one file after another) and once with --batch-size 8 (packed into shared
   30 s windows, decoded in batches): wall time, RTF, throughput ratio, peak RSS, and WER on
   the clips cut from real speech, to check that batching costs no accuracy.

Targets, printed as PASS/FAIL: swescribe's overhead over plain faster-whisper at most 5 %;
batched short-clip throughput at least 3x sequential; peak RSS for 60 minutes of audio below
2 GB. The exit code is 0 whatever the targets say (this is a measurement, not a test); it is 1
only when a run itself failed.

Results go to a JSON file (--results) and to the "## ASR (bench/asr)" section of
docs/benchmarks.md (--docs); the rest of that file is left alone.

Run from the repository root with the project's venv (`make bench-asr` runs this with the
defaults, which takes an hour or more on a 2-core CPU machine):

    python bench/asr/run.py
    python bench/asr/run.py --minutes-long 1 --short-clips 12 \
        --results /tmp/asr.json --docs /tmp/benchmarks.md        # a quick smoke run

Audio, logs and transcripts go to --work-dir (default bench/results/work, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import report
import scoring
from measure import ChildRun, own_peak_rss_mb, run_child

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

TARGET_OVERHEAD_PCT = 5.0
TARGET_BATCH_SPEEDUP = 3.0
TARGET_PEAK_RSS_MB = 2048.0
TARGET_PEAK_MINUTES = 60.0
BATCHED_BATCH_SIZE = 8


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        model, long, short = run_all(args)
    except ChildFailed as e:
        log(f"FAILED: {e}")
        return 1

    results = {
        "benchmark": "asr",
        "date_utc": date_utc,
        "command": reproduce_command(argv),
        "machine": report.machine_info(),
        "model": model,
        "settings": {
            "cpu_threads": args.cpu_threads,
            "repeat": args.repeat,
            "seed": args.seed,
            "short_batch_size": BATCHED_BATCH_SIZE,
        },
        "long": long,
        "short": short,
        # Linux carries a parent's peak RSS over to its children: no child can read lower.
        "parent_peak_rss_mb": round(own_peak_rss_mb(), 1),
    }
    results["targets"] = evaluate_targets(long, short)
    print_targets(results["targets"])
    write_results(args.results, results)
    report.update_docs(args.docs, report.render_section(results))
    log(f"wrote {args.results} and the ASR section of {args.docs}")
    return 0


def run_all(args: argparse.Namespace) -> tuple[dict, list[dict], dict | None]:
    env = child_env(args)
    log(f"resolving model {args.model}")
    model = resolve_model(args, env)
    log(f"  {model['path']} on {model['device']}/{model['compute_type']}, {args.cpu_threads} CPU threads")
    # Pin what was resolved, so the CLI cannot pick a different device or type than the baseline.
    env.update(SWESCRIBE_ASR_DEVICE=model["device"], SWESCRIBE_ASR_COMPUTE_TYPE=model["compute_type"])

    audio = build_audio(args, env)
    long = [bench_long(recording, model, args, env) for recording in audio["long"]]
    short = bench_short(audio["short"], args, env) if audio["short"] else None
    return model, long, short


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--minutes-long", type=_floats, default=[10.0, 60.0], help="long recording lengths, comma separated")
    parser.add_argument("--short-clips", type=int, default=200, help="number of 3-8 s clips")
    parser.add_argument("--cpu-threads", type=int, default=2, help="CPU threads for both tools")
    parser.add_argument("--model", default="whisper-base-offline", help="model name or folder, as for swescribe")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is reported")
    parser.add_argument("--seed", type=int, default=0, help="seed for pauses, gains and leading silences")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "asr.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument(
        "--real-speech",
        type=Path,
        default=REPO / "audio_fixtures" / "real_speech" / "manifest.jsonl",
        help="manifest of real Swedish clips (without it, synthetic clips only)",
    )
    args = parser.parse_args(argv)
    # Children run from the repository root; paths given relative to here must still work.
    for name in ("work_dir", "results", "docs", "real_speech"):
        setattr(args, name, getattr(args, name).resolve())
    if args.repeat < 1 or args.short_clips < 0 or args.cpu_threads < 0:
        parser.error("--repeat must be at least 1, --short-clips and --cpu-threads not negative")
    return args


def _floats(value: str) -> list[float]:
    return [float(v) for v in value.split(",") if v.strip()]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class ChildFailed(RuntimeError):
    pass


def child_env(args: argparse.Namespace) -> dict[str, str]:
    """One environment for every child, so both tools see the same settings."""
    env = dict(os.environ)
    env.update(
        SWESCRIBE_ASR_CPU_THREADS=str(args.cpu_threads),
        # Pinned so a caller's own settings cannot make the CLI decode differently from the
        # baseline, which always uses TranscribeOptions() (Swedish, sequential).
        SWESCRIBE_ASR_LANGUAGE="sv",
        SWESCRIBE_ASR_BATCH_SIZE="1",
    )
    return env


def swescribe_executable() -> str:
    beside = Path(sys.executable).with_name("swescribe")
    found = str(beside) if beside.exists() else shutil.which("swescribe")
    if not found:
        raise SystemExit("swescribe is not installed in this environment; run `make install` and use .venv/bin/python")
    return found


def run_checked(cmd: list[str], env: dict[str, str], log_path: Path) -> ChildRun:
    run = run_child(cmd, env, REPO, log_path, log)
    if run.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise ChildFailed(f"{shlex.join(cmd[:3])} ... exited with {run.returncode}; log {log_path}:\n{tail}")
    return run


def resolve_model(args: argparse.Namespace, env: dict[str, str]) -> dict:
    log_path = args.work_dir / "logs" / "model_info.log"
    out = args.work_dir / "model.json"
    run_checked([sys.executable, str(HERE / "model_info.py"), "--model", args.model, "--out", str(out)], env, log_path)
    return json.loads(out.read_text(encoding="utf-8"))


def build_audio(args: argparse.Namespace, env: dict[str, str]) -> dict:
    minutes = ",".join(f"{m:g}" for m in args.minutes_long)
    log(f"building audio in {args.work_dir}: long {minutes or 'none'} min, {args.short_clips} short clips")
    cmd = [
        sys.executable,
        str(HERE / "make_audio.py"),
        "--work-dir",
        str(args.work_dir),
        "--minutes-long",
        minutes,
        "--short-clips",
        str(args.short_clips),
        "--real-speech",
        str(args.real_speech),
        "--seed",
        str(args.seed),
    ]
    run = run_checked(cmd, env, args.work_dir / "logs" / "make_audio.log")
    audio = json.loads((args.work_dir / "audio.json").read_text(encoding="utf-8"))
    log(f"  done in {run.wall_s:.1f} s from {audio['sources']} speech clips")
    return audio


def bench_long(recording: dict, model: dict, args: argparse.Namespace, env: dict[str, str]) -> dict:
    """Part A for one recording: the CLI and the plain baseline, alternating order between repeats."""
    path, audio_s = Path(recording["path"]), recording["duration_s"]
    out_dir = args.work_dir / "out" / path.stem
    tools = {
        "plain": lambda: run_plain(path, out_dir, model, args, env),
        "swescribe": lambda: run_cli_long(path, out_dir, args.model, env),
    }
    runs: dict[str, list[tuple[ChildRun, dict]]] = {"plain": [], "swescribe": []}
    for rep in range(args.repeat):
        order = ("plain", "swescribe") if rep % 2 == 0 else ("swescribe", "plain")
        for tool in order:
            log(f"A. {recording['minutes']:g} min recording: {tool} (run {rep + 1}/{args.repeat})")
            run, output = tools[tool]()
            runs[tool].append((run, output))
            log(f"  {_run_line(run, audio_s)}, {scoring.word_count(output['text'])} words")

    result = {"minutes": recording["minutes"], "audio_s": audio_s, "reference_words": scoring.word_count(recording["reference"])}
    for tool, tool_runs in runs.items():
        result[tool] = summarise(tool_runs, audio_s, [recording["reference"]], lambda out: [out["text"]])
    result["ratio"] = round(result["swescribe"]["wall_s"] / result["plain"]["wall_s"], 4)
    result["overhead_pct"] = round(100 * (result["ratio"] - 1), 2)
    result["cpu_overhead_pct"] = round(100 * (result["swescribe"]["cpu_s"] / result["plain"]["cpu_s"] - 1), 2)
    log(
        f"  swescribe / plain = {result['ratio']:.3f} ({result['overhead_pct']:+.1f} % wall, "
        f"{result['cpu_overhead_pct']:+.1f} % CPU)"
    )
    return result


def run_plain(path: Path, out_dir: Path, model: dict, args: argparse.Namespace, env: dict[str, str]) -> tuple[ChildRun, dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "plain.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(HERE / "plain_faster_whisper.py"),
        str(path),
        "--model-dir",
        model["path"],
        "--device",
        model["device"],
        "--compute-type",
        model["compute_type"],
        "--cpu-threads",
        str(args.cpu_threads),
        "--out",
        str(out),
    ]
    run = run_checked(cmd, env, out_dir / "plain.log")
    output = json.loads(out.read_text(encoding="utf-8"))
    return run, {"text": output["text"], "work_s": output["transcribe_s"]}


def run_cli_long(path: Path, out_dir: Path, model_name: str, env: dict[str, str]) -> tuple[ChildRun, dict]:
    cli_dir = out_dir / "swescribe"
    # No --batch-size: a long recording goes the CLI's default way, as a user would run it.
    run = run_cli([path], cli_dir, model_name, None, env, out_dir / "swescribe.log")
    transcript = json.loads((cli_dir / f"{path.stem}.json").read_text(encoding="utf-8"))
    # The CLI's own timers: decoding the file plus recognition, comparable to the plain
    # script's transcribe time (faster-whisper decodes the file inside transcribe()).
    work_s = sum(transcript["timings_s"].get(k, 0.0) for k in ("decode", "transcribe"))
    return run, {"text": transcript["text"], "work_s": work_s}


def run_cli(
    paths: list[Path], out_dir: Path, model_name: str, batch_size: int | None, env: dict[str, str], log_path: Path
) -> ChildRun:
    """`swescribe transcribe` into a fresh `out_dir`, so no earlier output is read back."""
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [
        swescribe_executable(),
        "transcribe",
        *map(str, paths),
        "--model",
        model_name,
        "--format",
        "json",
        "--out",
        str(out_dir),
        "--no-progress",
    ]
    if batch_size is not None:
        cmd += ["--batch-size", str(batch_size)]
    return run_checked(cmd, env, log_path)


def bench_short(clips: list[dict], args: argparse.Namespace, env: dict[str, str]) -> dict:
    """Part B: all clips in one CLI call, sequential and then batched."""
    audio_s = sum(c["duration_s"] for c in clips)
    result = {"clips": len(clips), "real_clips": sum(c["real"] for c in clips), "audio_s": round(audio_s, 3)}
    for mode, batch_size in (("sequential", 1), ("batched", BATCHED_BATCH_SIZE)):
        result[mode] = bench_short_mode(clips, mode, batch_size, args, env)
    result["throughput_ratio"] = round(result["sequential"]["wall_s"] / result["batched"]["wall_s"], 3)
    log(f"  batched throughput = {result['throughput_ratio']:.2f}x sequential")
    return result


def bench_short_mode(clips: list[dict], mode: str, batch_size: int, args: argparse.Namespace, env: dict[str, str]) -> dict:
    paths = [Path(c["path"]) for c in clips]
    audio_s = sum(c["duration_s"] for c in clips)
    out_dir = args.work_dir / "out" / f"short_{mode}"
    runs = []
    for rep in range(args.repeat):
        log(f"B. {len(clips)} short clips, {mode} (--batch-size {batch_size}, run {rep + 1}/{args.repeat})")
        run = run_cli(paths, out_dir, args.model, batch_size, env, args.work_dir / "out" / f"short_{mode}.log")
        runs.append((run, {"transcripts": [_read_transcript(out_dir / f"{p.stem}.json") for p in paths]}))
        log(f"  {_run_line(run, audio_s)}")

    references = [c["reference"] for c in clips]
    summary = summarise(runs, audio_s, references, lambda out: [t["text"] if t else "" for t in out["transcripts"]])
    del summary["wer"]  # reported for real and synthetic clips apart, below
    transcripts = runs[-1][1]["transcripts"]
    summary.update(
        clips_per_min=round(60 * len(clips) / summary["wall_s"], 2),
        failed=sum(t is None for t in transcripts),
        # Output without a word: with packing, a whole clip can go missing from its window.
        empty=sum(t is not None and scoring.word_count(t["text"]) == 0 for t in transcripts),
    )
    for kind, want_real in (("real", True), ("synthetic", False)):
        picked = [(c, t) for c, t in zip(clips, transcripts) if c["real"] == want_real]
        summary[f"wer_{kind}"] = _wer([c["reference"] for c, _ in picked], [t["text"] if t else "" for _, t in picked])
        if batch_size == 1:
            # Per-clip recognition time (the CLI's own timer) shows which clips cost the most,
            # e.g. temperature fallback on badly recognised ones; batched timings are shares.
            summary[f"transcribe_s_per_{kind}_clip"] = _mean([t["timings_s"].get("transcribe") for _, t in picked if t])
    log(
        f"  WER real {_fmt_pct(summary['wer_real'])}, synthetic {_fmt_pct(summary['wer_synthetic'])}; "
        f"{summary['empty']} empty, {summary['failed']} failed"
    )
    return summary


def _read_transcript(path: Path) -> dict | None:
    """A clip's JSON transcript, or None when the CLI wrote nothing for it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _wer(references: list[str], hypotheses: list[str]) -> float | None:
    value = scoring.wer(references, hypotheses) if references else None
    return None if value is None else round(value, 4)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 3) if present else None


def summarise(runs: list[tuple[ChildRun, dict]], audio_s: float, references: list[str], texts_of) -> dict:
    """The fastest run (least disturbed by other load) with the highest peak RSS of all runs."""
    best, output = min(runs, key=lambda r: r[0].wall_s)
    hypotheses = texts_of(output)
    return {
        "wall_s": round(best.wall_s, 3),
        "walls_s": [round(r.wall_s, 3) for r, _ in runs],
        "rtf": round(best.wall_s / audio_s, 4),
        "cpu_s": round(best.cpu_s, 3),
        "work_s": None if output.get("work_s") is None else round(output["work_s"], 3),
        "peak_rss_mb": round(max(r.peak_rss_mb for r, _ in runs), 1),
        "words": sum(scoring.word_count(h) for h in hypotheses),
        "wer": _wer(references, hypotheses),
    }


def _run_line(run: ChildRun, audio_s: float) -> str:
    return f"wall {run.wall_s:.1f} s (RTF {run.wall_s / audio_s:.3f}), CPU {run.cpu_s:.1f} s, peak RSS {run.peak_rss_mb:.0f} MiB"


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def evaluate_targets(long: list[dict], short: dict | None) -> list[dict]:
    targets = []
    for rec in long:
        targets.append(
            _target(
                f"swescribe overhead over plain faster-whisper, {rec['minutes']:g} min recording,",
                f"<= {TARGET_OVERHEAD_PCT:g} %",
                f"{rec['overhead_pct']:+.1f} %",
                rec["overhead_pct"] <= TARGET_OVERHEAD_PCT,
            )
        )
    if short:
        ratio = short["throughput_ratio"]
        targets.append(
            _target(
                f"batched short-clip throughput ({short['clips']} clips) vs sequential",
                f">= {TARGET_BATCH_SPEEDUP:g}x",
                f"{ratio:.2f}x",
                ratio >= TARGET_BATCH_SPEEDUP,
            )
        )
    if long:
        # Measured on the 60-minute recording; a run without one uses its longest and says so.
        rec = min(long, key=lambda r: (r["minutes"] != TARGET_PEAK_MINUTES, -r["minutes"]))
        note = "" if rec["minutes"] == TARGET_PEAK_MINUTES else f" (target is for {TARGET_PEAK_MINUTES:g} min)"
        peak = rec["swescribe"]["peak_rss_mb"]
        targets.append(
            _target(
                f"peak RSS of swescribe, {rec['minutes']:g} min recording{note},",
                f"< {TARGET_PEAK_RSS_MB:g} MiB (2 GB)",
                f"{peak:.0f} MiB",
                peak < TARGET_PEAK_RSS_MB,
            )
        )
    return targets


def _target(name: str, target: str, measured: str, passed: bool) -> dict:
    return {"name": name, "target": target, "measured": measured, "pass": bool(passed)}


def print_targets(targets: list[dict]) -> None:
    log("targets:")
    for t in targets:
        print(f"  {'PASS' if t['pass'] else 'FAIL'}  {t['name']} {t['target']}: {t['measured']}", flush=True)


def write_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def reproduce_command(argv: list[str]) -> str:
    command = shlex.join(["python", "bench/asr/run.py", *argv])
    return command if argv else f"make bench-asr   # = {command}"


if __name__ == "__main__":
    sys.exit(main())
