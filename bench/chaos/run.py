"""Chaos run: short jobs through the real service while its processes are killed at random moments.

Starts, on 127.0.0.1 only, the stack the integration tests start (tests/integration/stack.py):
a Redis, the API under uvicorn, one gpu worker and one cpu worker (which runs the reconciler),
with SQLite and local storage in a fresh folder and the short liveness bounds of
tests/integration/test_recovery.py (a heartbeat a second, stale after 6 s, a reconciler pass a
second). Redis is started as `swescribe up` starts it, with append-only persistence in a folder
of its own (--no-redis-persistence: keeping nothing, as a Redis restarted empty).

It uploads --jobs short recordings (the Swedish fixtures: synthetic speech and, when present, the
real speech clips, a few seconds each) over HTTP from a thread, each with its own
Idempotency-Key and retried with that key while the API or the broker is down. Meanwhile it
makes --events events at seeded random moments, each of one of four kinds (each kind at least
twice when --events allows):

- pool_child: SIGKILL to the gpu worker's pool process (the Celery main process starts another)
- gpu_main: SIGKILL to the gpu worker's main process, then a new gpu worker is started
- redis: SIGKILL to Redis, started again on the same port (with the same data folder)
- api: SIGKILL to the API, started again on the same port

A worker kill waits (at most 10 s) for a job to be running, so that it interrupts one.

Then it waits for every job to finish (bounded by --deadline-min over the whole run), waits the
staleness bound again for a late duplicate run, and checks:

- every upload got one job, and the database holds exactly those jobs (no duplicate rows);
- every job is completed (none failed, none left queued or running);
- its transcript is served over HTTP and stored once, as jobs/<id>/transcript.json, written
  before the job's completion time; the completion time did not change after it was first
  seen (complete_job was not applied a second time);
- each job's attempts are 1 + the number of worker kills that caught it running;
- storage holds no object without its job (every jobs/<id>/ folder has a row) and no
  leftover temporary file, and every job's audio is there.

Prints a summary, writes the figures to --results (JSON) and its section of docs/reliability.md
(--docs), and exits 1 when a check failed (0 otherwise). Everything it started is stopped at
the end, also after an error, Ctrl-C or SIGTERM.

    python bench/chaos/run.py                                  # 50 jobs, 10 events, seed 7
    python bench/chaos/run.py --no-redis-persistence --seed 8  # Redis restarted empty
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import httpx  # noqa: E402
import psutil  # noqa: E402
import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)

from tests.integration.stack import Stack, make_stack  # noqa: E402
from workers.local.redis_server import ensure_redis  # noqa: E402
from workers.store.db import as_utc  # noqa: E402

HEADINGS = {
    True: "## Chaos run: Redis with append-only persistence (bench/chaos)",
    False: "## Chaos run: Redis restarted empty (bench/chaos)",
}
KINDS = ("pool_child", "gpu_main", "redis", "api")
HEARTBEAT_S = 1.0
STALE_AFTER_S = 6.0
RECONCILE_INTERVAL_S = 1.0
REAL_SPEECH_DIR = REPO / "audio_fixtures" / "real_speech"
# Fixtures without speech: a job on them may legitimately end otherwise than with words.
NOT_SPEECH = ("silence_", "noise_only_", "tone_only_")
UPLOAD_RETRY_FOR_S = 180.0
WAIT_RUNNING_S = 10.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50, help="recordings uploaded")
    parser.add_argument("--events", type=int, default=10, help="processes killed, in all")
    parser.add_argument("--seed", type=int, default=7, help="seeds the choice of files, event kinds and moments")
    parser.add_argument("--deadline-min", type=float, default=20.0, help="the whole run is given up after this")
    parser.add_argument(
        "--redis-persistence",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Redis with append-only persistence (as `swescribe up` runs it), else keeping nothing",
    )
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-chaos")
    parser.add_argument("--results", type=Path, default=None, help="default: bench/results/chaos-<persistence>.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "reliability.md")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, database, storage)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.events < 0 or args.deadline_min <= 0:
        parser.error("--jobs must be at least 1, --events at least 0, --deadline-min positive")
    if args.results is None:
        args.results = REPO / "bench" / "results" / f"chaos-{'aof' if args.redis_persistence else 'empty'}.json"
    for name in ("work_dir", "results", "docs"):
        setattr(args, name, getattr(args, name).resolve())
    return args


def recordings(count: int, rng: random.Random) -> list[Path]:
    found = [p for p in sorted((REPO / "audio_fixtures" / "synthetic").glob("*.flac")) if not p.name.startswith(NOT_SPEECH)]
    manifest = REAL_SPEECH_DIR / "manifest.jsonl"
    if manifest.is_file():
        found += [REAL_SPEECH_DIR / json.loads(line)["file"] for line in manifest.read_text().splitlines() if line.strip()]
    rng.shuffle(found)
    # More jobs than files: the files again (each upload is its own job, with its own key).
    return [found[i % len(found)] for i in range(count)]


def plan_events(count: int, rng: random.Random) -> list[str]:
    kinds = [k for k in KINDS for _ in range(2)][:count] if count >= 2 * len(KINDS) else list(KINDS)[:count]
    kinds += [rng.choice(KINDS) for _ in range(count - len(kinds))]
    rng.shuffle(kinds)
    return kinds


class Deadline(Exception):
    pass


@dataclass
class Uploads:
    """What the uploading thread did: job id per upload index, and how often it had to retry."""

    ids: dict[int, str] = field(default_factory=dict)
    uploaded_at: dict[int, float] = field(default_factory=dict)
    retries: int = 0
    retry_reasons: collections.Counter = field(default_factory=collections.Counter)
    failed: dict[int, str] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)


def upload_all(base_url: str, files: list[Path], rng: random.Random, uploads: Uploads, stop: threading.Event) -> None:
    """Upload each file with its own Idempotency-Key, retrying with the same key while the API or
    the broker is down; a random pause of 0-3 s between uploads spreads them over the events."""
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for index, path in enumerate(files):
                key = f"chaos-{index:03d}"
                give_up_at = time.monotonic() + UPLOAD_RETRY_FOR_S
                while not stop.is_set():
                    try:
                        with open(path, "rb") as f:
                            response = client.post("/v1/jobs", files={"file": (path.name, f)}, headers={"Idempotency-Key": key})
                        if response.status_code in (200, 202):
                            uploads.ids[index] = response.json()["id"]
                            uploads.uploaded_at[index] = time.time()
                            break
                        reason = f"{response.status_code} {_error_code(response)}"
                        if response.status_code < 500:
                            uploads.failed[index] = reason
                            break
                    except httpx.HTTPError as e:
                        reason = type(e).__name__
                    uploads.retries += 1
                    uploads.retry_reasons[reason] += 1
                    if time.monotonic() > give_up_at:
                        uploads.failed[index] = f"gave up after {UPLOAD_RETRY_FOR_S:.0f} s: {reason}"
                        break
                    stop.wait(0.5)
                stop.wait(rng.uniform(0, 3))
    finally:
        uploads.done.set()


def _error_code(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return ""


def pid_of(worker_field: str | None) -> int | None:
    if not worker_field:
        return None
    tail = worker_field.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


class Chaos:
    def __init__(self, stack: Stack, database_url: str, redis_dir: Path | None, deadline: float) -> None:
        from workers.store.db import session_factory

        self.stack = stack
        self.sessions = session_factory(database_url)
        self.redis_dir = redis_dir
        self.deadline = deadline
        self.gpu = None
        self.events: list[dict] = []
        # Job id -> worker kills that caught it running.
        self.interrupted: collections.Counter = collections.Counter()

    def rows(self):
        from sqlalchemy import select

        from workers.store.db import Job

        with self.sessions() as session:
            return list(session.scalars(select(Job)))

    def running(self) -> dict[str, int | None]:
        return {j.id: pid_of(j.worker) for j in self.rows() if j.status == "running"}

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise Deadline("the run's deadline passed")

    def wait_for_running(self) -> None:
        until = min(self.deadline, time.monotonic() + WAIT_RUNNING_S)
        while time.monotonic() < until and not self.running():
            time.sleep(0.1)

    def _note_interrupted(self, before: dict[str, int | None], killed: set[int]) -> list[str]:
        # Jobs whose recorded worker is a killed process, seen just before or just after the kill.
        caught = {job for job, pid in before.items() if pid in killed}
        caught |= {job for job, pid in self.running().items() if pid in killed}
        for job in caught:
            self.interrupted[job] += 1
        return sorted(caught)

    def kill_pool_child(self) -> dict:
        self.wait_for_running()
        children = psutil.Process(self.gpu.pid).children()
        before = self.running()
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
        caught = self._note_interrupted(before, {c.pid for c in children})
        return {"killed_pids": [c.pid for c in children], "jobs_interrupted": caught}

    def kill_gpu_main(self) -> dict:
        self.wait_for_running()
        main = self.gpu
        children = psutil.Process(main.pid).children()
        before = self.running()
        os.kill(main.pid, signal.SIGKILL)
        main.wait()
        # The pool process ends with it (Celery sets the parent-death signal); note if one did not.
        _gone, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            child.kill()
        caught = self._note_interrupted(before, {main.pid, *(c.pid for c in children)})
        started = time.monotonic()
        self.gpu = self.stack.start_worker("gpu")
        return {
            "killed_pids": [main.pid, *(c.pid for c in children)],
            "pool_outlived_main": len(alive),
            "jobs_interrupted": caught,
            "new_worker_ready_s": round(time.monotonic() - started, 1),
        }

    def kill_redis(self, rng: random.Random) -> dict:
        stack = self.stack
        url = stack.redis.url
        stack.redis.process.kill()
        stack.redis.process.wait()
        down_s = rng.uniform(0.5, 3.0)
        time.sleep(down_s)
        log_path = stack.root / f"redis-{len(self.events)}.log"
        stack.redis = ensure_redis(url, log_path, self.redis_dir)
        if stack.redis.url != url:
            raise RuntimeError(f"Redis came back on {stack.redis.url}, not {url}")
        return {"down_s": round(down_s, 1)}

    def kill_api(self) -> dict:
        stack = self.stack
        os.killpg(stack.api.pid, signal.SIGKILL)
        stack.api.wait()
        stack.api = None
        started = time.monotonic()
        stack.start_api()
        return {"restart_s": round(time.monotonic() - started, 1)}

    def event(self, kind: str, rng: random.Random) -> None:
        at = time.time()
        if kind == "pool_child":
            detail = self.kill_pool_child()
        elif kind == "gpu_main":
            detail = self.kill_gpu_main()
        elif kind == "redis":
            detail = self.kill_redis(rng)
        else:
            detail = self.kill_api()
        self.events.append({"kind": kind, "at": at, **detail})
        log(f"event {len(self.events)}: {kind} {detail}")


def stored_objects(storage_dir: Path) -> dict[str, list[str]]:
    from workers.transcript.files import is_temporary

    found: dict[str, list[str]] = {}
    jobs_dir = storage_dir / "jobs"
    if not jobs_dir.is_dir():
        return found
    for folder in sorted(jobs_dir.iterdir()):
        found[folder.name] = sorted(
            str(p.relative_to(folder)) + (" (temporary)" if is_temporary(p) else "") for p in folder.rglob("*") if p.is_file()
        )
    return found


def log_counts(root: Path) -> dict[str, int]:
    """Lines of the workers' logs that tell of duplicate deliveries or late results."""
    patterns = {
        "duplicate_delivery_dropped": r"is finished, deleted or running elsewhere; nothing to do",
        "result_dropped_taken_over": r"was taken over by another attempt",
        "result_not_recorded": r"was finished elsewhere or deleted; result not recorded",
        "reconciler_queued_again": r"queued again: ",
        "worker_lost_errors": r"WorkerLostError",
    }
    text = "\n".join(p.read_text(errors="replace") for p in sorted(root.glob("worker*.log")))
    return {name: len(re.findall(pattern, text)) for name, pattern in patterns.items()}


def _multipart(name: bytes, audio: bytes) -> bytes:
    """A form with one file, built by hand: HTTP clients percent-encode control characters in names."""
    return (
        b'--grans\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: audio/flac\r\n\r\n" + audio + b"\r\n--grans--\r\n"
    )


def hostile_inputs(stack: Stack, folder: Path, sessions) -> list[dict]:
    """Each hostile input once against the running stack: the answer, and what it left stored
    (job rows, job folders in storage, upload spool files), compared with before."""
    import numpy as np
    import soundfile as sf
    from sqlalchemy import func, select

    from workers.store.db import Job

    folder.mkdir(parents=True, exist_ok=True)
    day_at_1hz = folder / "dygn.flac"
    sf.write(day_at_1hz, np.zeros(24 * 3600, dtype=np.int16), samplerate=1, subtype="PCM_16")
    long_flac = folder / "lang.flac"  # 60 s, past SWESCRIBE_MAX_AUDIO_HOURS of this stack (36 s)
    sf.write(long_flac, np.zeros(60 * 4000, dtype=np.int16), samplerate=4000, subtype="PCM_16")
    nan_wav = folder / "trasig.wav"
    samples = np.zeros(16000, dtype=np.float32)
    samples[100:200] = np.nan
    sf.write(nan_wav, samples, 16000, subtype="FLOAT")
    clip = REPO / "audio_fixtures" / "synthetic" / "sv_clean_m1_01.flac"
    other = REPO / "audio_fixtures" / "synthetic" / "sv_clean_f2_02.flac"
    audio = clip.read_bytes()
    limit_bytes = int(stack.env["SWESCRIBE_MAX_UPLOAD_MB"]) * 1024 * 1024

    def chunked():  # a generator body: sent with Transfer-Encoding: chunked, no Content-Length
        yield b'--grans\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        block = bytes(64 * 1024)
        for _ in range(limit_bytes // len(block) + 16):
            yield block
        yield b"\r\n--grans--\r\n"

    def state() -> tuple[int, int, int]:
        with sessions() as session:
            rows = session.scalar(select(func.count()).select_from(Job))
        jobs_dir = stack.storage_dir / "jobs"
        folders = len(list(jobs_dir.iterdir())) if jobs_dir.is_dir() else 0
        spooled = sum(1 for p in (stack.root / "data").rglob("*") if p.is_file() and ".upload-" in p.name)
        return rows, folders, spooled

    form = {"content-type": "multipart/form-data; boundary=grans"}
    cases = [
        ("FLAC at 1 Hz declaring 24 h", lambda c: c.post("/v1/jobs", files={"file": (day_at_1hz.name, day_at_1hz.read_bytes())})),
        (
            "FLAC declaring 60 s, over SWESCRIBE_MAX_AUDIO_HOURS (0.01 h)",
            lambda c: c.post("/v1/jobs", files={"file": (long_flac.name, long_flac.read_bytes())}),
        ),
        ("float WAV with NaN samples", lambda c: c.post("/v1/jobs", files={"file": (nan_wav.name, nan_wav.read_bytes())})),
        ("empty file", lambda c: c.post("/v1/jobs", files={"file": ("tom.wav", b"")})),
        ("text, not audio", lambda c: c.post("/v1/jobs", files={"file": ("text.wav", b"inte ljud\n" * 100)})),
        ("FLAC cut in half", lambda c: c.post("/v1/jobs", files={"file": ("halv.flac", audio[: len(audio) // 2])})),
        (
            "chunked upload, no Content-Length, past the upload limit",
            lambda c: c.post("/v1/jobs", content=chunked(), headers=form),
        ),
        (
            "file name of 501 characters",
            lambda c: c.post("/v1/jobs", content=_multipart(b"x" * 501 + b".flac", audio), headers=form),
        ),
        ("file name with NUL", lambda c: c.post("/v1/jobs", content=_multipart("möte\x00.flac".encode(), audio), headers=form)),
        (
            "Idempotency-Key used again with another file",
            lambda c: (
                c.post("/v1/jobs", files={"file": (clip.name, audio)}, headers={"Idempotency-Key": "hostile-key"}),
                c.post("/v1/jobs", files={"file": (other.name, other.read_bytes())}, headers={"Idempotency-Key": "hostile-key"}),
            )[1],
        ),
        *[
            (
                f"webhook_url {label}",
                lambda c, url=url: c.post("/v1/jobs", files={"file": (clip.name, audio)}, data={"webhook_url": url}),
            )
            for label, url in [
                ("with a newline", "https://case.example/hook\nX-Injected: 1"),
                ("with port 99999", "https://case.example:99999/hook"),
                ("with port abc", "https://case.example:abc/hook"),
                ("https://[1.1.1.1]/hook", "https://[1.1.1.1]/hook"),
            ]
        ],
        ("GET /v1/jobs?offset=99999999999999999999", lambda c: c.get("/v1/jobs", params={"offset": "99999999999999999999"})),
        ("GET /metrics without the token", lambda c: c.get("/metrics")),
    ]
    answers = []
    with httpx.Client(base_url=stack.base_url, timeout=60) as client:
        for label, call in cases:
            before = state()
            try:
                response = call(client)
                status, code = response.status_code, _error_code(response)
                name = response.json().get("file", {}).get("name") if status == 202 else None
            except httpx.HTTPError as e:
                status, code, name = None, type(e).__name__, None
            after = state()
            left = [f"{what} +{b - a}" for what, a, b in zip(("rows", "job folders", "spool files"), before, after) if b != a]
            answers.append(
                {
                    "input": label,
                    "status": status,
                    "code": code,
                    "name_kept": (f"{len(name)} characters" if len(name) > 40 else name) if name else None,
                    "left": ", ".join(left) or "nothing",
                }
            )
    # Keys off on an address other machines can reach: refused before anything listens (port 1
    # is never bound, by root or not).
    result = subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "api", "--host", "0.0.0.0", "--port", "1"],
        env={k: v for k, v in stack.env.items() if k != "SWESCRIBE_AUTH_DISABLED_ALLOW_REMOTE"}
        | {"SWESCRIBE_AUTH_DISABLED": "1"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    answers.append(
        {
            "input": "`swescribe api --host 0.0.0.0` with SWESCRIBE_AUTH_DISABLED=1",
            "status": f"exit {result.returncode}",
            "code": (result.stderr.strip().splitlines() or [""])[-1][:160],
            "name_kept": None,
            "left": "nothing (not started)",
        }
    )
    return answers


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    started_mono = time.monotonic()
    deadline = started_mono + args.deadline_min * 60
    args.work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=args.work_dir))
    database_url = f"sqlite:///{root / 'swescribe.db'}"
    stack = make_stack(
        root / "stack",
        database_url,
        args.work_dir / "models",
        auth_disabled="1",
        asr_language="sv",
        job_heartbeat_s=str(HEARTBEAT_S),
        job_stale_after_s=str(STALE_AFTER_S),
        reconcile_interval_s=str(RECONCILE_INTERVAL_S),
        # For the hostile inputs afterwards; the chaos run's recordings are a few seconds each.
        max_audio_hours="0.01",
        max_upload_mb="2",
        metrics_token="chaos-metrics-token-0123456789",
    )
    redis_dir = root / "redis" if args.redis_persistence else None
    stop_uploads = threading.Event()
    uploader = None
    failures: list[str] = []
    checked = False
    try:
        # make_stack's Redis keeps nothing; replaced on the same port by one as `up` runs it.
        url = stack.redis.url
        stack.redis.stop()
        stack.redis = ensure_redis(url, stack.root / "redis.log", redis_dir)
        if stack.redis.url != url:
            raise RuntimeError(f"Redis started on {stack.redis.url}, not {url}")
        chaos = Chaos(stack, database_url, redis_dir, deadline)
        log(f"starting the stack in {root} (Redis {url}, persistence {'on' if redis_dir else 'off'})")
        stack.start_api()
        stack.start_worker("cpu")
        chaos.gpu = stack.start_worker("gpu")

        files = recordings(args.jobs, rng)
        kinds = plan_events(args.events, rng)
        uploads = Uploads()
        log(f"uploading {args.jobs} recordings; {len(kinds)} events planned: {collections.Counter(kinds)}")
        upload_started = time.time()
        uploader = threading.Thread(
            target=upload_all, args=(stack.base_url, files, random.Random(args.seed + 1), uploads, stop_uploads), daemon=True
        )
        uploader.start()

        def unfinished() -> bool:
            if not uploads.done.is_set():
                return True
            return any(j.status in ("queued", "running") for j in chaos.rows())

        skipped: list[str] = []
        deadline_hit = False
        try:
            for number, kind in enumerate(kinds):
                pause = rng.uniform(3, 15) if number else rng.uniform(5, 10)
                until = time.monotonic() + pause
                while time.monotonic() < until:
                    chaos.check_deadline()
                    time.sleep(0.2)
                if not unfinished():
                    skipped = kinds[number:]
                    log(f"every job finished before {len(skipped)} event(s): {skipped}")
                    break
                chaos.event(kind, rng)

            log("waiting for every job to finish")
            while unfinished():
                chaos.check_deadline()
                time.sleep(0.5)
        except Deadline:
            deadline_hit = True
            log("the deadline passed; checking what there is")
        drained_at = time.time()
        first_seen = {j.id: j.finished_at for j in chaos.rows()}
        if not deadline_hit:
            log(f"all finished; waiting {STALE_AFTER_S + 3 * RECONCILE_INTERVAL_S:.0f} s for any late duplicate run")
            time.sleep(STALE_AFTER_S + 3 * RECONCILE_INTERVAL_S)
        rows = {j.id: j for j in chaos.rows()}

        # The checks.
        checks: dict[str, tuple[bool, str]] = {}
        ids = list(uploads.ids.values())
        checks["every upload accepted"] = (
            not uploads.failed and len(ids) == args.jobs,
            f"{len(ids)} of {args.jobs} accepted; refused: {uploads.failed or 'none'}",
        )
        checks["one job per upload, no other rows"] = (
            len(set(ids)) == len(ids) and set(rows) == set(ids),
            f"{len(set(ids))} distinct ids, {len(rows)} rows",
        )
        by_status = collections.Counter(j.status for j in rows.values())
        checks["finished within the deadline"] = (not deadline_hit, f"deadline {args.deadline_min:g} min")
        checks["every job completed"] = (
            by_status == {"completed": len(ids)},
            ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())),
        )
        stuck = [i for i, j in rows.items() if j.status in ("queued", "running")]
        checks["no job left queued or running"] = (not stuck, f"{len(stuck)} stuck {stuck[:5]}")
        changed = [i for i, j in rows.items() if first_seen.get(i) != j.finished_at]
        checks["completion recorded once (finished_at unchanged afterwards)"] = (
            not changed,
            f"{len(changed)} changed {changed[:5]}",
        )

        objects = stored_objects(stack.storage_dir)
        orphans = sorted(set(objects) - set(rows))
        checks["no stored object without its job"] = (not orphans, f"{len(orphans)} folders without a row {orphans[:5]}")
        temporaries = sorted(i for i, names in objects.items() if any(n.endswith("(temporary)") for n in names))
        checks["no leftover temporary file"] = (not temporaries, f"{len(temporaries)} folders with one {temporaries[:5]}")
        missing_audio = [i for i, j in rows.items() if not (stack.storage_dir / j.audio_key).is_file()]
        checks["every job's audio stored"] = (not missing_audio, f"{len(missing_audio)} missing {missing_audio[:5]}")

        odd_results, late_writes = [], []
        for job_id, job in rows.items():
            names = [n for n in objects.get(job_id, []) if n != Path(job.audio_key).name]
            if names != ["transcript.json"] or job.transcript_key != f"jobs/{job_id}/transcript.json":
                odd_results.append((job_id, names))
                continue
            written = (stack.storage_dir / job.transcript_key).stat().st_mtime
            if job.finished_at is not None and written > as_utc(job.finished_at).timestamp() + 1.0:
                late_writes.append(job_id)
        checks["one stored transcript per job"] = (not odd_results, f"{len(odd_results)} otherwise {odd_results[:3]}")
        checks["no transcript written after its completion"] = (not late_writes, f"{len(late_writes)} {late_writes[:5]}")

        served = 0
        with httpx.Client(base_url=stack.base_url, timeout=30) as client:
            listed = client.get("/v1/jobs", params={"limit": 200}).json()["total"]
            for job_id in ids:
                response = client.get(f"/v1/jobs/{job_id}/transcript")
                served += response.status_code == 200 and response.json().get("duration_s", 0) > 0
        checks["every transcript served over HTTP"] = (
            served == len(ids) and listed == len(ids),
            f"{served} served, {listed} listed",
        )

        wrong_attempts = {
            i: (j.attempts, 1 + chaos.interrupted[i]) for i, j in rows.items() if j.attempts != 1 + chaos.interrupted[i]
        }
        checks["attempts = 1 + worker kills that caught the job"] = (
            not wrong_attempts,
            f"{len(wrong_attempts)} otherwise (attempts, expected): {dict(list(wrong_attempts.items())[:5])}",
        )
        failures = [name for name, (ok, _) in checks.items() if not ok]
        checked = True
        log("sending hostile inputs to the same stack")
        try:
            hostile = hostile_inputs(stack, root / "hostile", chaos.sessions)
        except Exception as e:  # noqa: BLE001 - the chaos figures are still worth writing
            log(f"the hostile inputs could not all be sent: {e!r}")
            hostile = [{"input": "(not completed)", "status": None, "code": repr(e)[:160], "name_kept": None, "left": "?"}]
        for answer in hostile:
            log(f"  {answer}")

        took = [as_utc(j.finished_at).timestamp() - as_utc(j.created_at).timestamp() for j in rows.values() if j.finished_at]
        events_by_kind = collections.Counter(e["kind"] for e in chaos.events)
        return {
            "jobs": args.jobs,
            "seed": args.seed,
            "redis_persistence": args.redis_persistence,
            "events_planned": len(kinds),
            "events": {k: events_by_kind.get(k, 0) for k in KINDS},
            "events_skipped": skipped,
            "deadline_hit": deadline_hit,
            "event_log": [{**e, "at_s": round(e.pop("at") - upload_started, 1)} for e in chaos.events],
            "jobs_interrupted_by_worker_kills": sum(chaos.interrupted.values()),
            "upload_retries": uploads.retries,
            "upload_retry_reasons": dict(uploads.retry_reasons),
            "drain_s": round(drained_at - upload_started, 1),
            "max_job_s": round(max(took), 1) if took else None,
            "median_job_s": round(sorted(took)[len(took) // 2], 1) if took else None,
            "attempts_histogram": {str(k): v for k, v in sorted(collections.Counter(j.attempts for j in rows.values()).items())},
            "worker_log_lines": log_counts(stack.root),
            "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
            "hostile_inputs": hostile,
            "failed_checks": failures,
            "wall_s": round(time.monotonic() - started_mono, 1),
            "work_dir": str(root),
        }
    finally:
        stop_uploads.set()
        if uploader is not None:
            uploader.join(timeout=40)
        stack.stop()
        if checked and not failures and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def render_section(results: dict) -> str:
    m, r = results["machine"], results["measured"]
    e = r["events"]
    persistence = (
        "with append-only persistence in a data folder of its own, as `swescribe up` runs it (`--appendonly yes "
        "--appendfsync everysec`), started again on that folder"
        if r["redis_persistence"]
        else "keeping nothing on disk, so each restart comes back empty (as make_stack's Redis does)"
    )
    lines = [
        HEADINGS[r["redis_persistence"]],
        "",
        f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gib']} GiB RAM), {m['os']}; Python "
        f"{m['python']}; other work was running on the machine. Redis {persistence}. Model `whisper-base-offline` on "
        f"CPU; one gpu worker, one cpu worker running the reconciler; heartbeat {HEARTBEAT_S:g} s, stale after "
        f"{STALE_AFTER_S:g} s, a reconciler pass every {RECONCILE_INTERVAL_S:g} s; SQLite and local storage; all on 127.0.0.1.",
        "",
        f"{r['jobs']} recordings (Swedish fixtures, synthetic speech and real speech clips, a few seconds each) uploaded "
        f"over HTTP, each with its own Idempotency-Key, retried with it while the API or the broker was down "
        f"({r['upload_retries']} retries: {', '.join(f'{k} x{v}' for k, v in r['upload_retry_reasons'].items()) or 'none'}). "
        f"Seed {r['seed']}.",
        "",
        "| events | gpu pool process SIGKILL | gpu main process SIGKILL + new worker | Redis SIGKILL + restart | API SIGKILL + restart |",
        "|---:|---:|---:|---:|---:|",
        f"| {sum(e.values())} | {e['pool_child']} | {e['gpu_main']} | {e['redis']} | {e['api']} |",
        "",
        f"Worker kills caught {r['jobs_interrupted_by_worker_kills']} running job(s). "
        + (f"Not made, every job having finished before: {', '.join(r['events_skipped'])}. " if r["events_skipped"] else "")
        + (
            f"Not drained: the deadline passed {r['drain_s']} s after the first upload. "
            if r.get("deadline_hit")
            else f"Time to drain (first upload to the last job finished): {r['drain_s']} s. "
        )
        + f"The longest finished job (upload to "
        f"completion) {r['max_job_s']} s, the median {r['median_job_s']} s. Attempts per job: "
        + ", ".join(f"{n} job(s) with {a}" for a, n in r["attempts_histogram"].items())
        + ".",
        "",
        "| check | result | detail |",
        "|---|---|---|",
        *[
            f"| {name} | {'pass' if c['ok'] else '**FAIL**'} | {c['detail'].replace('|', '/')} |"
            for name, c in r["checks"].items()
        ],
        "",
        "Worker log lines: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r["worker_log_lines"].items()) + ".",
        "",
        "Then, against the same stack, each hostile input once (the upload limit set to 2 MiB and "
        "`SWESCRIBE_MAX_AUDIO_HOURS` to 0.01 for this), with what it left stored compared with just before:",
        "",
        "| input | answer | error code / message | name kept | left stored |",
        "|---|---|---|---|---|",
        *[
            f"| {h['input']} | {h['status']} | {str(h['code']).replace('|', '/')} | {h['name_kept'] or ''} | {h['left']} |"
            for h in r.get("hostile_inputs", [])
        ],
        "",
        "Events, seconds after the first upload:",
        "",
        *[
            f"- {ev['at_s']} s: {ev['kind']}"
            + (f", interrupted {len(ev['jobs_interrupted'])} job(s)" if "jobs_interrupted" in ev else "")
            + (f", new worker ready in {ev['new_worker_ready_s']} s" if "new_worker_ready_s" in ev else "")
            + (f", pool process outlived its main process: {ev['pool_outlived_main']}" if ev.get("pool_outlived_main") else "")
            + (f", down {ev['down_s']} s" if "down_s" in ev else "")
            + (f", back in {ev['restart_s']} s" if "restart_s" in ev else "")
            for ev in r["event_log"]
        ],
        "",
        "Reproduce (from the repository root, with the project's venv):",
        "",
        "```sh",
        f"python bench/chaos/run.py --jobs {r['jobs']} --events {r['events_planned']} --seed {r['seed']}"
        + ("" if r["redis_persistence"] else " --no-redis-persistence"),
        "```",
        "",
    ]
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it."""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1).strip() if match else report.machine_info()["cpu_model"]


def _terminate(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measured = run(args)
    results = {
        "benchmark": "chaos",
        "date_utc": date_utc,
        "machine": {**report.machine_info(), "cpu_model": cpu_model()},
        "measured": measured,
    }
    for name, check in measured["checks"].items():
        log(f"{'PASS' if check['ok'] else 'FAIL'}  {name}: {check['detail']}")
    summary = {k: v for k, v in measured.items() if k not in ("checks", "event_log")}
    log(json.dumps(summary))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = args.docs.read_text(encoding="utf-8") if args.docs.exists() else "# Reliability\n"
    args.docs.write_text(
        report.replace_section(text, HEADINGS[args.redis_persistence], render_section(results)), encoding="utf-8"
    )
    log(f"wrote {args.results} and a section of {args.docs}")
    if measured["failed_checks"]:
        log(f"checks failed: {measured['failed_checks']}; the run's folder is kept: {measured['work_dir']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
