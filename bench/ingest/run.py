"""Folder ingestion throughput: N short recordings through `swescribe ingest DIR` and one gpu worker.

Builds N distinct clips (pieces of the Swedish fixtures and, when present, the real speech
clips, 2-4 s each), starts Redis and a gpu worker on 127.0.0.1 with SQLite and local storage,
warms the worker up with one file, then times one `swescribe ingest` pass over the folder:
from the start of the process until it exits with every result in outbox/. Reports files per
minute and seconds of audio per wall second, with where the time went per job, and writes
the "Folder ingestion" section of docs/benchmarks.md.

    python bench/ingest/run.py                 # 500 files
    python bench/ingest/run.py --files 50      # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)

from tests.integration.ingest_clips import make_clips  # noqa: E402
from tests.integration.stack import Stack, make_stack  # noqa: E402

SECTION_HEADING = "## Folder ingestion (bench/ingest)"
REAL_SPEECH_DIR = Path(os.environ.get("SWESCRIBE_REAL_SPEECH_DIR", REPO / "audio_fixtures" / "real_speech"))
WORKER_START_TIMEOUT_S = 180.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--files", type=int, default=500, help="recordings dropped into the inbox")
    parser.add_argument("--batch-size", type=int, default=8, help="SWESCRIBE_ASR_BATCH_SIZE of the worker")
    parser.add_argument("--cpu-threads", type=int, default=2, help="SWESCRIBE_ASR_CPU_THREADS of the worker")
    parser.add_argument("--settle-s", type=float, default=1.0, help="swescribe ingest --settle-s")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-ingest")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "ingest.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    if args.files < 1 or args.batch_size < 1:
        parser.error("--files and --batch-size must be at least 1")
    for name in ("work_dir", "results", "docs"):
        setattr(args, name, getattr(args, name).resolve())
    return args


def sources() -> list[Path]:
    found = sorted((REPO / "audio_fixtures" / "synthetic").glob("*.flac"))
    manifest = REAL_SPEECH_DIR / "manifest.jsonl"
    if manifest.is_file():
        found += [REAL_SPEECH_DIR / json.loads(line)["file"] for line in manifest.read_text().splitlines() if line.strip()]
    return found


def start_worker(stack: Stack) -> None:
    log_path = stack.root / "worker0.log"
    worker = stack._spawn("worker0", "worker", "--queues", "gpu", "--name", "gpu0-bench@%h")
    stack.workers.append(worker)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
        if log_path.exists() and " ready." in log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError("worker did not get ready")


def ingest(stack: Stack, folder: Path, settle_s: float, log_path: Path) -> float:
    started = time.perf_counter()
    with open(log_path, "wb") as out:
        result = subprocess.run(
            [sys.executable, "-m", "workers.commands.cli", "ingest", str(folder), "--settle-s", str(settle_s), "--no-progress"],
            env=stack.env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"ingest exited with {result.returncode}: {log_path.read_text()[-2000:]}")
    return wall


def job_rows(database_url: str, owner: str) -> list[dict]:
    from sqlalchemy import select

    from workers.store.db import Job, as_utc, session_factory

    with session_factory(database_url)() as session:
        return [
            {
                "status": j.status,
                "duration_s": j.duration_s,
                "timings_s": j.timings_s,
                "created": as_utc(j.created_at).timestamp(),
                "started": as_utc(j.started_at).timestamp(),
                "finished": as_utc(j.finished_at).timestamp(),
            }
            for j in session.scalars(select(Job).where(Job.owner == owner))
        ]


def run(args: argparse.Namespace) -> dict:
    from workers.ingest.submit import owner_for

    args.work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=args.work_dir))
    database_url = f"sqlite:///{root / 'swescribe.db'}"
    stack = make_stack(
        root / "stack",
        database_url,
        args.work_dir / "models",
        asr_batch_size=str(args.batch_size),
        asr_cpu_threads=str(args.cpu_threads),
        asr_language="sv",
    )
    try:
        folder = root / "folder"
        log(f"building {args.files} clips in {folder}")
        clips = make_clips(sources(), root / "staging", args.files, min_s=2.0, max_s=4.0, seed=11)
        audio_s = sum(d for _, d in clips)
        log(f"starting Redis ({stack.redis.url}) and one gpu worker (batch size {args.batch_size})")
        start_worker(stack)
        warm = root / "warm"
        (warm / "inbox").mkdir(parents=True)
        shutil.copy(REPO / "audio_fixtures" / "synthetic" / "sv_clean_m1_01.flac", warm / "inbox")
        warm_s = ingest(stack, warm, args.settle_s, root / "warm.log")
        log(f"warm-up file took {warm_s:.1f} s")

        (folder / "inbox").mkdir(parents=True)
        for path, _ in clips:  # renamed in whole, as a finished upload appears
            path.rename(folder / "inbox" / path.name)
        log(f"ingesting {args.files} files ({audio_s:.0f} s of audio)")
        load_before = os.getloadavg()[0]
        wall = ingest(stack, folder, args.settle_s, root / "ingest.log")
        load_after = os.getloadavg()
        done = len(list((folder / "done").iterdir()))
        outputs = len(list((folder / "outbox").glob("*.json")))
        rows = job_rows(database_url, owner_for(folder.resolve()))
    finally:
        stack.stop()
    if done != args.files or outputs != args.files or len(rows) != args.files:
        raise RuntimeError(f"expected {args.files} results, got {done} in done/, {outputs} in outbox/, {len(rows)} jobs")
    in_worker = [r["finished"] - r["started"] for r in rows]
    transcribe = [r["timings_s"].get("transcribe", 0.0) for r in rows]
    first_created = min(r["created"] for r in rows)
    last_finished = max(r["finished"] for r in rows)
    shutil.rmtree(root, ignore_errors=True)
    return {
        "files": args.files,
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 1),
        "files_per_min": round(args.files / wall * 60, 1),
        "audio_s_per_wall_s": round(audio_s / wall, 2),
        "warmup_s": round(warm_s, 1),
        "settle_s": args.settle_s,
        "batch_size": args.batch_size,
        "cpu_threads": args.cpu_threads,
        "queue_span_s": round(last_finished - first_created, 1),
        "mean_in_worker_s": round(statistics.mean(in_worker), 3),
        "mean_transcribe_s": round(statistics.mean(transcribe), 3),
        "mean_clip_s": round(audio_s / args.files, 2),
        # Other work on the machine slows the worker down; the 1- and 15-minute load averages say how much.
        "load_avg_1min_before": round(load_before, 2),
        "load_avg_15min_after": round(load_after[2], 2),
    }


def render_section(results: dict) -> str:
    m, r = results["machine"], results["measured"]
    overhead = r["wall_s"] - r["files"] * r["mean_in_worker_s"]
    return "\n".join(
        [
            SECTION_HEADING,
            "",
            f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gib']} GiB RAM), {m['os']}; "
            f"Python {m['python']}. Model `whisper-base-offline` on CPU, {r['cpu_threads']} threads, one gpu-queue worker "
            f"(`SWESCRIBE_ASR_BATCH_SIZE={r['batch_size']}`), Redis, SQLite and local storage on 127.0.0.1.",
            "",
            "| files | audio (s) | wall (s) | files/min | audio s per wall s | mean clip (s) | in the worker per job (s) | of it transcribe (s) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {r['files']} | {r['audio_s']} | {r['wall_s']} | {r['files_per_min']} | {r['audio_s_per_wall_s']} | "
            f"{r['mean_clip_s']} | {r['mean_in_worker_s']} | {r['mean_transcribe_s']} |",
            "",
            f"Wall time is one `swescribe ingest DIR --settle-s {r['settle_s']:g}` process, from its start until it exits "
            f"with every transcript in outbox/ and every recording in done/: the settle wait, hashing, probing, storing and "
            f"queueing each file, the worker's jobs one after another, and writing four formats per file. Of the wall time, "
            f"{overhead:.0f} s lie outside the worker's jobs (start-up, settle wait, submitting, the last poll). "
            f"The worker had loaded its model before the clock started (a warm-up file took {r['warmup_s']} s). "
            f"The machine was not idle: load average {r['load_avg_1min_before']} (1 min) at the start and "
            f"{r['load_avg_15min_after']} (15 min) at the end on {m['cores']} cores, so the per-job times are higher than "
            f"on an idle machine.",
            "",
            "Every recording is its own job and so its own Whisper window: the worker decodes one 2-4 s clip at a time, "
            "and the batch size only helps within a job. The packing of many short files into one batch that "
            "`swescribe transcribe --batch-size 8` does (bench/asr: 74.5 clips/min on a quieter machine) is not used on the job path, so a "
            "folder of many short clips is transcribed at the per-job rate above; a folder of long recordings is not "
            "affected.",
            "",
            "Reproduce (from the repository root, with the project's venv):",
            "",
            "```sh",
            f"python bench/ingest/run.py --files {r['files']}",
            "```",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measured = run(args)
    results = {"benchmark": "ingest", "date_utc": date_utc, "machine": report.machine_info(), "measured": measured}
    log(json.dumps(measured))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    text = args.docs.read_text(encoding="utf-8")
    args.docs.write_text(report.replace_section(text, SECTION_HEADING, render_section(results)), encoding="utf-8")
    log(f"wrote {args.results} and the folder ingestion section of {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
