"""Service benchmark: how much longer a recording takes through the running service than the CLI.

The service (REST API, Redis broker, Celery worker, job database, storage) must not make a user
wait much longer for a transcript than running `swescribe transcribe` on the same file would.
One run measures, on this machine, for each recording (--minutes, default 1 and 10 minutes,
built at run time by bench/asr/make_audio.py from the real and synthetic Swedish speech clips,
with 0.5-1.5 s pauses):

- Service: the stack started the way the integration tests start it
  (tests/integration/stack.py): a fresh data folder with SQLite and local storage, its own
  Redis on a free 127.0.0.1 port, the API (`python -m workers.commands.cli api --port P`) and ONE worker
  for the gpu queue (`python -m workers.commands.cli worker --queues gpu`). It is warmed with one short
  job first, so the worker has loaded the model, as on a service that has been up a while.
  Timed: from the start of the upload (POST /v1/jobs) until GET /v1/jobs/{id}/transcript
  ?format=json returns 200, polling GET /v1/jobs/{id} every 0.2 s in between. Requests carry
  an API key made with `swescribe keys create`, as real clients' requests do, so key checking
  is part of the cost.
- CLI: `swescribe -v transcribe FILE --format json --out DIR --no-progress` as a child process,
  wall time of the whole run (process start, imports, model load, decoding, writing output).
  `-v` only adds log lines; one of them gives the model load time of that very run.

Both use the same settings: model, device, compute type, SWESCRIBE_ASR_CPU_THREADS equal to
--cpu-threads, language sv, batch size 1, and the same assembled model folder.

Target, printed as PASS/FAIL per recording: service <= 1.10 x CLI + 1 s (overhead at most
10 % plus 1 s) against the CLI's whole run. That comparison favours the service, whose warm
worker loaded its model before the clock started while the CLI loads it in every run. So the
report also gives the CLI's time without its model load and the service's overhead over that:
the cost of upload, queueing, hand-over to the worker, storage and polling alone. It also
checks that both transcripts have about the same number of words, so a fast wrong answer
cannot pass.

With --repeat N each measurement runs N times, the order of service and CLI alternating, and
the fastest run of each is reported (the one least disturbed by other load on the machine).
The exit code is 0 whatever the target says (this is a measurement, not a test); it is 1 only
when a run itself failed. The stack is shut down at the end, also after an error, Ctrl-C or
SIGTERM.

Results go to a JSON file (--results) and to the "## Service (bench/service)" section of
docs/benchmarks.md (--docs); the rest of that file is left alone. Run from the repository
root with the project's venv:

    python bench/service/run.py
    python bench/service/run.py --minutes 0.25 --results /tmp/svc.json --docs /tmp/svc.md   # smoke run

Audio, logs and transcripts go to --work-dir (default bench/results/work-service, git-ignored).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASR_BENCH = REPO / "bench" / "asr"
# The integration tests' stack helper lives under tests/, bench/asr's modules beside its run.py.
sys.path[:0] = [str(REPO), str(ASR_BENCH)]

import httpx  # noqa: E402
import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)
import scoring  # noqa: E402  (bench/asr: word counts through the project's Swedish normalizer)
from measure import ChildRun  # noqa: E402

from tests.integration.stack import Stack, make_stack  # noqa: E402

SECTION_HEADING = "## Service (bench/service)"
TARGET_FACTOR = 1.10
TARGET_SLACK_S = 1.0
POLL_INTERVAL_S = 0.2
# A worker imports the ML stack before it reports ready; on two busy cores that can take a while.
WORKER_START_TIMEOUT_S = 180.0
# Transcripts of the same audio by the same model and settings should agree almost word for word.
WORDS_TOLERANCE = 0.02
WORDS_TOLERANCE_MIN = 3
WARMUP_FIXTURE = REPO / "audio_fixtures" / "manifest.jsonl"
CLI_LOAD_LINE = re.compile(r"loaded \S+ on \S+ in ([0-9.]+) s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop the stack and any CLI child.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        measured = run_all(args)
    except BenchFailed as e:
        log(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; the stack has been stopped")
        return 130

    results = {
        "benchmark": "service",
        "date_utc": date_utc,
        "command": reproduce_command(argv),
        "machine": report.machine_info(),
        "settings": {
            "cpu_threads": args.cpu_threads,
            "repeat": args.repeat,
            "poll_interval_s": POLL_INTERVAL_S,
            "auth": "API key (swescribe keys create)",
            "database": "SQLite",
            "storage": "local folder",
            "gpu_workers": 1,
        },
        **measured,
    }
    print_summary(results["recordings"])
    write_json(args.results, results)
    update_docs(args.docs, render_section(results))
    log(f"wrote {args.results} and the service section of {args.docs}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--minutes", type=_floats, default=[1.0, 10.0], help="recording lengths, comma separated")
    parser.add_argument("--cpu-threads", type=int, default=2, help="SWESCRIBE_ASR_CPU_THREADS for worker and CLI")
    parser.add_argument("--model", default="whisper-base-offline", help="model name or folder, as for swescribe")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is reported")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-service")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "service.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    # Children run from the repository root; paths given relative to here must still work.
    for name in ("work_dir", "results", "docs"):
        setattr(args, name, getattr(args, name).resolve())
    if args.repeat < 1 or args.cpu_threads < 0 or not args.minutes or min(args.minutes) <= 0:
        parser.error("--repeat must be at least 1, --cpu-threads not negative, --minutes positive")
    return args


def _floats(value: str) -> list[float]:
    return [float(v) for v in value.split(",") if v.strip()]


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchFailed(RuntimeError):
    pass


# --- the run ---------------------------------------------------------------------------------


def run_all(args: argparse.Namespace) -> dict:
    """Audio, stack, warm-up, then service and CLI per recording; the stack is always stopped."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="stack-", dir=args.work_dir))
    stack: Stack | None = None
    failed = False
    try:
        stack = make_stack(
            root,
            f"sqlite:///{root / 'swescribe.db'}",
            args.work_dir / "models",
            asr_model=args.model,
            asr_cpu_threads=str(args.cpu_threads),
            # Pinned so a caller's own settings cannot make worker and CLI decode differently.
            asr_language="sv",
            asr_batch_size="1",
        )
        model = resolve_model(args, stack.env)
        stack.env.update(SWESCRIBE_ASR_DEVICE=model["device"], SWESCRIBE_ASR_COMPUTE_TYPE=model["compute_type"])
        recordings = build_audio(args, stack.env)
        start_stack(stack)
        with stack.client(stack.create_key("bench"), timeout=600) as client:
            warmup = warm_up(client, args.work_dir / "out")
            measured = [bench_recording(rec, client, stack.env, args) for rec in recordings]
        versions = collect_versions(stack, model)
    except (httpx.HTTPError, RuntimeError, OSError) as e:  # BenchFailed included
        failed = True
        raise BenchFailed(f"{e}\nthe stack's logs are in {root}") from e
    finally:
        if stack is not None:
            log("stopping the stack")
            stack.stop()
        # The uploads are large; the folder (with the processes' logs) is kept only to debug a failure.
        if not failed:
            shutil.rmtree(root, ignore_errors=True)
    return {"model": model, "versions": versions, "warmup": warmup, "recordings": measured}


def resolve_model(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """bench/asr's model_info.py: the folder, device and compute type swescribe will use.

    It assembles the offline model into the shared cache once and reads the weights into the
    page cache, so neither the worker nor the first CLI run pays for a cold disk."""
    log(f"resolving model {args.model}")
    out = args.work_dir / "model.json"
    run_logged(
        [sys.executable, str(ASR_BENCH / "model_info.py"), "--model", args.model, "--out", str(out)],
        env,
        args.work_dir / "logs" / "model_info.log",
    )
    model = json.loads(out.read_text(encoding="utf-8"))
    log(f"  {model['path']} on {model['device']}/{model['compute_type']}, {args.cpu_threads} CPU threads")
    return model


def build_audio(args: argparse.Namespace, env: dict[str, str]) -> list[dict]:
    """bench/asr's make_audio.py, in its own process so an hour of samples never sits in this one."""
    minutes = ",".join(f"{m:g}" for m in args.minutes)
    log(f"building {minutes} min recordings in {args.work_dir}")
    run_logged(
        [
            sys.executable,
            str(ASR_BENCH / "make_audio.py"),
            "--work-dir",
            str(args.work_dir),
            "--minutes-long",
            minutes,
            "--short-clips",
            "0",
        ],
        env,
        args.work_dir / "logs" / "make_audio.log",
    )
    return json.loads((args.work_dir / "audio.json").read_text(encoding="utf-8"))["long"]


def run_logged(cmd: list[str], env: dict[str, str], log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        result = subprocess.run(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchFailed(f"{Path(cmd[1]).name} exited with {result.returncode}; log {log_path}:\n{tail}")


def start_stack(stack: Stack) -> None:
    log(f"starting Redis ({stack.redis.url}), the API on {stack.base_url} and one gpu worker")
    stack.start_api()
    start_gpu_worker(stack)


def start_gpu_worker(stack: Stack) -> None:
    """Stack.start_worker, except that the worker is registered before it is waited for, so a
    worker that never gets ready is still stopped with the stack rather than left running."""
    log_path = stack.root / "worker0.log"
    worker = stack._spawn("worker0", "worker", "--queues", "gpu", "--name", f"gpu0-{uuid.uuid4().hex[:6]}@%h")
    stack.workers.append(worker)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise BenchFailed(f"the worker exited: {log_path.read_text(errors='replace')[-3000:]}")
        if log_path.exists() and " ready." in log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise BenchFailed(f"the worker was not ready after {WORKER_START_TIMEOUT_S:.0f} s; log {log_path}")


def warm_up(client: httpx.Client, out_dir: Path) -> dict:
    """One short job, so the worker's pool process has loaded the model before anything is timed."""
    clip = _first_speech_fixture()
    log(f"warming the service with {clip.name}")
    run = run_service(client, clip, out_dir / "warmup.json")
    log(f"  {run['wall_s']:.1f} s, of which the worker's model load {_fmt(run['load_model_s'])} s")
    return {"file": str(clip.relative_to(REPO)), "wall_s": run["wall_s"], "load_model_s": run["load_model_s"]}


def _first_speech_fixture() -> Path:
    for line in WARMUP_FIXTURE.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("expect_words") and entry.get("text"):
            return WARMUP_FIXTURE.parent / entry["file"]
    raise BenchFailed(f"no speech clip in {WARMUP_FIXTURE}")


def bench_recording(recording: dict, client: httpx.Client, env: dict[str, str], args: argparse.Namespace) -> dict:
    """Service and CLI on one recording, alternating which goes first between repeats."""
    path, label = Path(recording["path"]), f"{recording['minutes']:g} min"
    out_dir = args.work_dir / "out" / path.stem
    tools = {
        "service": lambda: run_service(client, path, out_dir / "service.json"),
        "cli": lambda: run_cli(path, out_dir / "cli", env),
    }
    runs: dict[str, list[dict]] = {"service": [], "cli": []}
    for rep in range(args.repeat):
        order = ("service", "cli") if rep % 2 == 0 else ("cli", "service")
        for tool in order:
            log(f"{label} recording: {tool} (run {rep + 1}/{args.repeat})")
            run = tools[tool]()
            runs[tool].append(run)
            log(f"  {run['wall_s']:.1f} s, {run['words']} words")
    return compare(
        recording,
        min(runs["service"], key=_wall),
        min(runs["cli"], key=_wall),
        {tool: [r["wall_s"] for r in tool_runs] for tool, tool_runs in runs.items()},
    )


def _wall(run: dict) -> float:
    return run["wall_s"]


# --- the service -----------------------------------------------------------------------------


def run_service(client: httpx.Client, path: Path, out_path: Path) -> dict:
    """Upload `path`, poll until the JSON transcript can be fetched; the wall time covers it all."""
    started_at = time.time()  # for the server's own timestamps (same machine, same clock)
    started = time.perf_counter()
    with open(path, "rb") as f:
        response = client.post("/v1/jobs", files={"file": (path.name, f)})
    upload_s = time.perf_counter() - started
    if response.status_code != 202:
        raise BenchFailed(f"POST /v1/jobs for {path.name}: {response.status_code} {response.text[:500]}")
    job_id = response.json()["id"]
    transcript = wait_for_transcript(client, job_id, timeout_s=600 + 10 * _duration_hint(response.json()))
    wall_s = time.perf_counter() - started

    job = client.get(f"/v1/jobs/{job_id}").json()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(transcript, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {
        "wall_s": round(wall_s, 3),
        "upload_s": round(upload_s, 3),
        **job_breakdown(job, started_at + wall_s),
        "words": scoring.word_count(transcript["text"]),
    }


def _duration_hint(job: dict) -> float:
    return float(job.get("duration_s") or 600)


def wait_for_transcript(client: httpx.Client, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] == "failed":
            raise BenchFailed(f"job {job_id} failed: {job.get('error_code')}: {job.get('error_message')}")
        if job["status"] == "completed":
            response = client.get(f"/v1/jobs/{job_id}/transcript", params={"format": "json"})
            if response.status_code == 200:
                return response.json()
        time.sleep(POLL_INTERVAL_S)
    raise BenchFailed(f"job {job_id} had no transcript after {timeout_s:.0f} s")


def job_breakdown(job: dict, seen_at: float) -> dict:
    """Where the service's time went, from the job's own timestamps and stage timings."""
    created, started, finished = (_epoch(job[k]) for k in ("created_at", "started_at", "finished_at"))
    timings = job.get("timings_s") or {}
    return {
        "queued_s": _round(started - created),  # job row written -> worker took it
        "worker_s": _round(finished - started),  # worker took it -> result stored
        "work_s": _round(timings.get("decode", 0.0) + timings.get("transcribe", 0.0)),
        "load_model_s": timings.get("load_model"),
        "result_seen_s": _round(seen_at - finished),  # stored -> client had the transcript
        "timings_s": timings,
    }


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _round(value: float) -> float:
    return round(value, 3)


# --- the CLI ---------------------------------------------------------------------------------


def run_cli(path: Path, out_dir: Path, env: dict[str, str]) -> dict:
    """`swescribe transcribe` into a fresh folder, timed as a whole; its load time from its log."""
    shutil.rmtree(out_dir, ignore_errors=True)
    log_path = out_dir.with_suffix(".log")
    cmd = [swescribe_executable(), "-v", "transcribe", str(path), "--format", "json", "--out", str(out_dir), "--no-progress"]
    run = run_child(cmd, env, log_path)
    if run.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchFailed(f"swescribe transcribe {path.name} exited with {run.returncode}; log {log_path}:\n{tail}")
    transcript = json.loads((out_dir / f"{path.stem}.json").read_text(encoding="utf-8"))
    timings = transcript.get("timings_s") or {}
    match = CLI_LOAD_LINE.search(log_path.read_text(encoding="utf-8", errors="replace"))
    return {
        "wall_s": round(run.wall_s, 3),
        "cpu_s": round(run.cpu_s, 3),
        "load_s": float(match.group(1)) if match else None,
        "work_s": _round(timings.get("decode", 0.0) + timings.get("transcribe", 0.0)),
        "words": scoring.word_count(transcript["text"]),
    }


def run_child(cmd: list[str], env: dict[str, str], log_path: Path) -> ChildRun:
    """bench/asr's measure.run_child, except that the child is killed if the wait is interrupted,
    so Ctrl-C or an error never leaves a transcription running behind the benchmark."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    return ChildRun(
        wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, peak_rss_mb=usage.ru_maxrss / 1024, returncode=proc.returncode
    )


def swescribe_executable() -> str:
    beside = Path(sys.executable).with_name("swescribe")
    found = str(beside) if beside.exists() else shutil.which("swescribe")
    if not found:
        raise BenchFailed("swescribe is not installed in this environment; run `make install` and use .venv/bin/python")
    return found


# --- comparison ------------------------------------------------------------------------------


def compare(recording: dict, service: dict, cli: dict, walls: dict[str, list[float]]) -> dict:
    """The fastest service run against the fastest CLI run, whole and without its model load."""
    limit_s = TARGET_FACTOR * cli["wall_s"] + TARGET_SLACK_S
    result = {
        "minutes": recording["minutes"],
        "audio_s": recording["duration_s"],
        "reference_words": scoring.word_count(recording["reference"]),
        "service": {**service, "walls_s": walls["service"]},
        "cli": {**cli, "walls_s": walls["cli"]},
        **_overhead(service["wall_s"], cli["wall_s"], ""),
        "limit_s": round(limit_s, 3),
        "pass": service["wall_s"] <= limit_s,
        "words_similar": words_similar(service["words"], cli["words"]),
    }
    if cli["load_s"] is not None:
        without_load = cli["wall_s"] - cli["load_s"]
        result["cli_without_load_s"] = round(without_load, 3)
        result.update(_overhead(service["wall_s"], without_load, "_without_load"))
        result["pass_without_load"] = service["wall_s"] <= TARGET_FACTOR * without_load + TARGET_SLACK_S
    return result


def _overhead(service_s: float, cli_s: float, suffix: str) -> dict:
    return {f"overhead_s{suffix}": round(service_s - cli_s, 3), f"overhead_pct{suffix}": round(100 * (service_s / cli_s - 1), 2)}


def words_similar(a: int, b: int) -> bool:
    return abs(a - b) <= max(WORDS_TOLERANCE_MIN, WORDS_TOLERANCE * max(a, b))


def print_summary(recordings: list[dict]) -> None:
    log(f"target: service <= {TARGET_FACTOR:.2f} x CLI + {TARGET_SLACK_S:g} s")
    for r in recordings:
        line = (
            f"  {'PASS' if r['pass'] else 'FAIL'}  {r['minutes']:g} min: service {r['service']['wall_s']:.1f} s, "
            f"CLI {r['cli']['wall_s']:.1f} s, overhead {r['overhead_s']:+.1f} s ({r['overhead_pct']:+.1f} %)"
        )
        if "overhead_s_without_load" in r:
            line += (
                f"; vs CLI without its {r['cli']['load_s']:.1f} s model load: {r['overhead_s_without_load']:+.1f} s "
                f"({r['overhead_pct_without_load']:+.1f} %)"
            )
        words = f"words service {r['service']['words']} / CLI {r['cli']['words']}"
        print(line + f"; {words}{'' if r['words_similar'] else ' DIFFER'}", flush=True)


def collect_versions(stack: Stack, model: dict) -> dict:
    versions = {name: _package_version(name) for name in ("swescribe", "fastapi", "uvicorn", "celery", "redis")}
    versions.update(
        faster_whisper=model["faster_whisper"],
        ctranslate2=model["ctranslate2"],
        redis_server=_redis_server_version(stack.redis.executable),
        commit=_git_commit(),
    )
    return versions


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _redis_server_version(executable: str | None) -> str | None:
    if not executable:
        return None
    out = subprocess.run([executable, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\S+)", out)
    return match.group(1) if match else None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{' with local changes' if dirty else ''}"


# --- output ----------------------------------------------------------------------------------


def write_json(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def update_docs(path: Path, section: str) -> None:
    """Replace this benchmark's section of `path` (or append it); other sections stay as they are."""
    text = path.read_text(encoding="utf-8") if path.is_file() else report.DOCS_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.replace_section(text, SECTION_HEADING, section), encoding="utf-8")


def render_section(results: dict) -> str:
    parts = [
        SECTION_HEADING,
        "",
        _intro(results),
        "",
        "### Upload to transcript on a warm service vs the CLI's whole run",
        "",
        *_main_table(results),
        "",
        "### Where the time goes",
        "",
        *_breakdown_table(results["recordings"]),
        "",
        *_notes(results),
    ]
    return "\n".join(parts) + "\n"


def _intro(results: dict) -> str:
    m, v, model, s = results["machine"], results["versions"], results["model"], results["settings"]
    ram = f"{m['ram_gib']} GiB RAM" if m["ram_gib"] else "RAM unknown"
    commit = f" (commit {v['commit']})" if v.get("commit") else ""
    return (
        f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {ram}), {m['os']}; "
        f"Python {m['python']}, swescribe {v['swescribe']}{commit}, faster-whisper {v['faster_whisper']}, "
        f"CTranslate2 {v['ctranslate2']}, FastAPI {v['fastapi']}, uvicorn {v['uvicorn']}, Celery {v['celery']}, "
        f"Redis server {v['redis_server'] or 'unknown'}. Model `{model['name']}` (revision `{model['revision']}`) "
        f"on {model['device']}/{model['compute_type']}, {s['cpu_threads']} CPU threads for the worker and the CLI; "
        f"fastest of {s['repeat']} run(s) per cell. Stack: API, one gpu worker, Redis, SQLite and local storage, "
        f"all on 127.0.0.1, requests with an API key."
    )


def _main_table(results: dict) -> list[str]:
    rows = [
        f"Target: service <= {TARGET_FACTOR:.2f} x CLI + {TARGET_SLACK_S:g} s.",
        "",
        "| recording | service (s) | CLI (s) | overhead | limit (s) | result | CLI model load (s) | "
        "CLI without model load (s) | overhead vs that | words service / CLI |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results["recordings"]:
        without = (
            (f"{r['cli_without_load_s']:.1f} | {r['overhead_s_without_load']:+.1f} s ({r['overhead_pct_without_load']:+.1f} %)")
            if "cli_without_load_s" in r
            else "n/a | n/a"
        )
        words = f"{r['service']['words']} / {r['cli']['words']}{'' if r['words_similar'] else ' (differ)'}"
        rows.append(
            f"| {r['minutes']:g} min | {r['service']['wall_s']:.1f} | {r['cli']['wall_s']:.1f} | "
            f"{r['overhead_s']:+.1f} s ({r['overhead_pct']:+.1f} %) | {r['limit_s']:.1f} | "
            f"{'PASS' if r['pass'] else 'FAIL'} | {_fmt(r['cli']['load_s'])} | {without} | {words} |"
        )
    w = results["warmup"]
    rows += [
        "",
        f"The warm-up job ({w['file']}) took {w['wall_s']:.1f} s, of which the worker's model load "
        f"{_fmt(w['load_model_s'])} s; a service that has not run a job yet pays that once.",
    ]
    return rows


def _breakdown_table(recordings: list[dict]) -> list[str]:
    rows = [
        "| recording | service: upload (s) | queued (s) | in the worker (s) | of it decode + transcribe (s) | "
        "result seen after (s) | CLI: model load (s) | decode + transcribe (s) | start-up, imports, output (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in recordings:
        s, c = r["service"], r["cli"]
        rest = None if c["load_s"] is None else c["wall_s"] - c["load_s"] - c["work_s"]
        rows.append(
            f"| {r['minutes']:g} min | {s['upload_s']:.2f} | {s['queued_s']:.2f} | {s['worker_s']:.1f} | "
            f"{s['work_s']:.1f} | {s['result_seen_s']:.2f} | {_fmt(c['load_s'])} | {c['work_s']:.1f} | {_fmt(rest)} |"
        )
    return rows


def _notes(results: dict) -> list[str]:
    return [
        "Service time runs from the start of the upload (`POST /v1/jobs`) until "
        "`GET /v1/jobs/{id}/transcript?format=json` returns 200, polling `GET /v1/jobs/{id}` every "
        f"{POLL_INTERVAL_S:g} s, so up to that much of it is polling granularity. CLI time is the whole "
        "`swescribe -v transcribe FILE --format json --out DIR --no-progress` process; `-v` only adds the log "
        "line with its model load time. The warm worker loaded its model before the clock started; the CLI "
        "loads it in every run, hence the second comparison without it. Upload, queued, in the worker and "
        "result seen after come from the job's own timestamps (same machine, same clock); the recordings "
        "are built at run time from the real and synthetic Swedish speech clips with a fixed seed.",
        "",
        "Reproduce (from the repository root, with the project's venv):",
        "",
        "```sh",
        results["command"],
        "```",
    ]


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def reproduce_command(argv: list[str]) -> str:
    return shlex.join(["python", "bench/service/run.py", *argv])


if __name__ == "__main__":
    sys.exit(main())
