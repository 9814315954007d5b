"""Throughput of short recordings: the job path (REST, folder ingestion) against the batched CLI,
and how long one interactive upload waits behind a tenant's bulk queue.

One run, on one set of N short clips (default 300, 2-12 s each, built at run time with a fixed
seed from the real Swedish clips in audio_fixtures/real_speech and the SYNTHETIC espeak-ng clips
in audio_fixtures/synthetic, about half of each):

1. CLI: one `swescribe transcribe CLIP... --batch-size 8 --format json` process over all clips;
   files per minute from its start to its exit (imports and model load included).
2. The stack, as the other benchmarks start it (tests/integration/stack.py): its own Redis on a
   free 127.0.0.1 port, SQLite and local storage in a fresh folder, the API, one gpu-queue worker
   and one cpu worker. It is warmed up (one fixture job, then a burst of short clips) before any
   clock starts.
3. Idle: tenant B uploads one 10 s recording of real speech on the idle service and waits for its
   transcript (--idle-runs times, the median is the reference).
4. REST: every clip uploaded to `POST /v1/jobs` (--upload-concurrency at a time, one tenant);
   files per minute from the start of the first upload to the last job's `finished_at`.
5. Ingest: every clip copied into DIR/inbox/ and one `swescribe ingest DIR` pass; files per
   minute from its start to its exit.
6. Fairness: tenant A uploads every clip with `priority=bulk`; once all are queued, tenant B
   uploads the 10 s recording (`priority=normal`) and waits for its transcript. Its time against
   the idle median is the ratio (target <= 3x). The stack is stopped afterwards; the bulk jobs
   still queued then are dropped with it.

Every job must have completed and every clip of real speech must have a non-empty transcript
on every path; a run that fails that writes its JSON (with the problems) but not the docs, and
exits 1. Target: the job path (REST and ingest, each) reaches at least 0.8x the CLI's files per
minute. `priority` is sent only when the API knows it: a 400 naming the option makes the run
continue without it (said so in the report), as does --no-priority.

Writes --results (JSON, default docs/throughput.json), prints Markdown tables, and replaces the
"Throughput of short recordings (bench/throughput)" section of --docs (docs/benchmarks.md).
Every phase has a time limit (--phase-timeout-s); child processes are stopped at the end, also
after an error, Ctrl-C or SIGTERM. Run from the repository root with the project's venv:

    python bench/throughput/run.py                  # 300 clips
    python bench/throughput/run.py --files 20       # a trial
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASR_BENCH = REPO / "bench" / "asr"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SECTION_HEADING = "## Throughput of short recordings (bench/throughput)"
FULL_FILES = 300
SR = 16_000
TARGET_JOB_PATH_VS_CLI = 0.8
TARGET_FAIRNESS_RATIO = 3.0
SINGLE_CLIP_S = 10.0
WARMUP_FIXTURE = REPO / "audio_fixtures" / "synthetic" / "sv_clean_m1_01.flac"
SYNTHETIC_MANIFEST = REPO / "audio_fixtures" / "manifest.jsonl"
REAL_MANIFEST = REPO / "audio_fixtures" / "real_speech" / "manifest.jsonl"
WORKER_START_TIMEOUT_S = 180.0
SINGLE_POLL_S = 0.2
BULK_POLL_S = 1.0

# Clip building: a clip of real speech is made only of real clips, a synthetic one only of
# synthetic clips, so each keeps its label.
PAUSE_S = (0.2, 0.6)
GAIN = (0.6, 1.0)
PEAK_LIMIT = 0.95
# Dither (about 3 LSB of 16-bit) so no two clips are byte-identical: the folder ingester
# deduplicates by content, and the same recording twice would be one job.
DITHER = 1e-4
FRAME_S = 0.03
SPEECH_REL_RMS = 0.1  # a frame is speech above -20 dB of the loudest frame
SPEECH_MARGIN_S = 0.25


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class BenchFailed(RuntimeError):
    pass


# --- clips (pure: numpy and the project's decoder only) ------------------------------------


@dataclass(frozen=True)
class Source:
    id: str
    real: bool
    samples: np.ndarray  # float32, 16 kHz mono, trimmed to its speech


@dataclass(frozen=True)
class Clip:
    name: str  # file name; its stem names the outputs of every path
    path: str
    duration_s: float
    real: bool
    sources: tuple[str, ...]


def speech_span(samples: np.ndarray, sr: int = SR) -> tuple[int, int]:
    """(start, end) sample indices of the speech in `samples` (shape (n,)), by frame energy:
    from the first to the last frame within -20 dB of the loudest, with a small margin. Real
    clips start and end with room noise; a short cut from them must not be all noise."""
    frame = max(int(FRAME_S * sr), 1)
    count = len(samples) // frame
    if count == 0:
        return 0, len(samples)
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = np.flatnonzero(rms >= SPEECH_REL_RMS * float(rms.max()))
    if rms.max() == 0 or len(loud) == 0:
        return 0, len(samples)
    margin = int(SPEECH_MARGIN_S * sr)
    return max(int(loud[0]) * frame - margin, 0), min((int(loud[-1]) + 1) * frame + margin, len(samples))


def load_sources(synthetic_manifest: Path = SYNTHETIC_MANIFEST, real_manifest: Path = REAL_MANIFEST) -> list[Source]:
    """The speech fixtures (silence, noise and tone fixtures have no words), trimmed to speech."""
    from workers.transcript.audio import decode_audio

    sources = []
    for manifest, real in ((real_manifest, True), (synthetic_manifest, False)):
        if not manifest.is_file():
            continue
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry.get("expect_words") is False or not entry.get("text"):
                continue
            samples = decode_audio(manifest.parent / entry["file"]).samples
            start, end = speech_span(samples)
            sources.append(Source(entry["id"], real, samples[start:end].astype(np.float32)))
    return sources


def is_real(index: int, real_fraction: float) -> bool:
    """Spreads the real clips evenly over the run: any prefix has about `real_fraction` of them."""
    return int((index + 1) * real_fraction) > int(index * real_fraction)


def compose(
    pool: Sequence[Source], length_s: float, rng: np.random.Generator, sr: int = SR
) -> tuple[np.ndarray, tuple[str, ...]]:
    """`length_s` seconds of speech from `pool`: a window of one source when it is long
    enough, else sources one after another with short pauses, cut to length."""
    length = int(round(length_s * sr))
    first = pool[int(rng.integers(len(pool)))]
    if len(first.samples) >= length:
        start = int(rng.integers(len(first.samples) - length + 1))
        return first.samples[start : start + length], (first.id,)
    pieces, used, total = [first.samples], [first.id], len(first.samples)
    while total < length:
        pause = np.zeros(int(rng.uniform(*PAUSE_S) * sr), dtype=np.float32)
        source = pool[int(rng.integers(len(pool)))]
        pieces += [pause, source.samples]
        used.append(source.id)
        total += len(pause) + len(source.samples)
    return np.concatenate(pieces)[:length], tuple(used)


def finish(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Its own gain, the peak kept under clipping, and a little dither."""
    peak = float(np.abs(samples).max()) or 1.0
    gain = min(float(rng.uniform(*GAIN)), PEAK_LIMIT / peak)
    out = samples * gain + rng.normal(0.0, DITHER, len(samples))
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sr: int = SR) -> None:
    """16-bit PCM mono; `samples` float32 in [-1, 1], shape (n,)."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sr)
        out.writeframes(pcm.tobytes())


def build_clips(
    sources: Sequence[Source],
    out_dir: Path,
    count: int,
    seed: int,
    min_s: float = 2.0,
    max_s: float = 12.0,
    real_fraction: float = 0.5,
    prefix: str = "clip",
) -> list[Clip]:
    """`count` WAV clips of min_s..max_s seconds in `out_dir`, the same for the same seed."""
    real = [s for s in sources if s.real]
    synthetic = [s for s in sources if not s.real]
    if not synthetic or (real_fraction > 0 and not real):
        raise ValueError(f"need real and synthetic speech sources, got {len(real)} real and {len(synthetic)} synthetic")
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        kind_real = bool(real) and is_real(i, real_fraction)
        samples, used = compose(real if kind_real else synthetic, float(rng.uniform(min_s, max_s)), rng)
        name = f"{prefix}_{i:04d}_{'real' if kind_real else 'synthetic'}.wav"
        write_wav(out_dir / name, finish(samples, rng))
        clips.append(Clip(name, str(out_dir / name), round(len(samples) / SR, 3), kind_real, used))
    return clips


def build_single(sources: Sequence[Source], out_dir: Path, seed: int, length_s: float = SINGLE_CLIP_S) -> Clip:
    """The interactive upload: `length_s` seconds of real speech."""
    real = [s for s in sources if s.real] or list(sources)
    rng = np.random.default_rng([seed, 1_000_000])
    samples, used = compose(real, length_s, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"single_{length_s:g}s.wav"
    write_wav(path, finish(samples, rng))
    return Clip(path.name, str(path), round(len(samples) / SR, 3), bool(real and real[0].real), used)


def clip_summary(clips: Sequence[Clip]) -> dict:
    durations = [c.duration_s for c in clips]
    return {
        "files": len(clips),
        "real": sum(c.real for c in clips),
        "synthetic": sum(not c.real for c in clips),
        "audio_s": round(sum(durations), 1),
        "mean_s": round(statistics.mean(durations), 2) if durations else None,
        "shortest_s": round(min(durations), 2) if durations else None,
        "longest_s": round(max(durations), 2) if durations else None,
    }


# --- checks and figures (pure) -------------------------------------------------------------


def files_per_min(files: int, wall_s: float) -> float:
    return round(files / wall_s * 60, 2) if wall_s > 0 else 0.0


def check_outputs(clips: Sequence[Clip], texts: dict[str, str | None], path_name: str) -> dict:
    """Outputs of one path by clip stem (None: no result). Missing results and empty real-speech
    transcripts are problems; empty synthetic ones are only counted (espeak-ng speech is hard
    for a small Whisper)."""
    missing = [c.name for c in clips if texts.get(Path(c.name).stem) is None]
    empty_real = [c.name for c in clips if c.real and texts.get(Path(c.name).stem) == ""]
    empty_synthetic = [c.name for c in clips if not c.real and texts.get(Path(c.name).stem) == ""]
    problems = []
    if missing:
        problems.append(f"{path_name}: {len(missing)} of {len(clips)} clips without a completed result (e.g. {missing[:3]})")
    if empty_real:
        problems.append(f"{path_name}: {len(empty_real)} real-speech clips with an empty transcript (e.g. {empty_real[:3]})")
    return {
        "results": len(clips) - len(missing),
        "missing": len(missing),
        "empty_real": len(empty_real),
        "empty_synthetic": len(empty_synthetic),
        "problems": problems,
    }


def targets(phases: dict) -> list[dict]:
    rows = []
    cli = phases.get("cli", {}).get("files_per_min")
    for path, label in (("rest", "REST"), ("ingest", "ingest")):
        fpm = phases.get(path, {}).get("files_per_min")
        if cli and fpm is not None:
            ratio = round(fpm / cli, 3)
            rows.append(
                {
                    "target": f"{label} files/min >= {TARGET_JOB_PATH_VS_CLI:g} x CLI (`--batch-size 8`)",
                    "measured": f"{ratio:.2f}x ({fpm:.1f} vs {cli:.1f} files/min)",
                    "value": ratio,
                    "pass": ratio >= TARGET_JOB_PATH_VS_CLI,
                }
            )
    fair = phases.get("fairness")
    if fair and fair.get("idle_median_s"):
        if fair.get("behind_bulk_s") is not None:
            ratio = round(fair["behind_bulk_s"] / fair["idle_median_s"], 2)
            measured = f"{ratio:.2f}x ({fair['behind_bulk_s']:.1f} s vs {fair['idle_median_s']:.1f} s idle)"
        else:
            ratio = None
            measured = f"not finished within {fair['timeout_s']:.0f} s (>= {fair['timeout_s'] / fair['idle_median_s']:.1f}x)"
        rows.append(
            {
                "target": f"10 s upload behind {fair['bulk_files']} queued bulk files <= {TARGET_FAIRNESS_RATIO:g} x idle",
                "measured": measured,
                "value": ratio,
                "pass": ratio is not None and ratio <= TARGET_FAIRNESS_RATIO,
            }
        )
    return rows


def render_tables(results: dict) -> list[str]:
    """The Markdown tables: throughput per path, the fairness measurement, targets, phase walls."""
    p, clips = results["phases"], results["clips"]
    cli_fpm = p.get("cli", {}).get("files_per_min")
    lines = [
        f"Clips: {clips['files']} files, {clips['audio_s']:.0f} s of audio ({clips['shortest_s']}-{clips['longest_s']} s, "
        f"mean {clips['mean_s']} s); {clips['real']} of real speech, {clips['synthetic']} SYNTHETIC (espeak-ng).",
        "",
        "| path | files | wall (s) | files/min | audio s per wall s | vs CLI | results | empty: real / synthetic |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "cli": "`swescribe transcribe --batch-size 8`",
        "rest": "REST `POST /v1/jobs`",
        "ingest": "`swescribe ingest DIR`",
    }
    for key, label in labels.items():
        r = p.get(key)
        if not r:
            continue
        vs = f"{r['files_per_min'] / cli_fpm:.2f}x" if cli_fpm else "n/a"
        lines.append(
            f"| {label} | {r['files']} | {r['wall_s']:.1f} | {r['files_per_min']:.1f} | "
            f"{clips['audio_s'] / r['wall_s']:.2f} | {vs} | {r['check']['results']} | "
            f"{r['check']['empty_real']} / {r['check']['empty_synthetic']} |"
        )
    fair = p.get("fairness")
    if fair:
        behind = f"{fair['behind_bulk_s']:.1f}" if fair.get("behind_bulk_s") is not None else f"> {fair['timeout_s']:.0f}"
        ratio = f"{fair['behind_bulk_s'] / fair['idle_median_s']:.2f}x" if fair.get("behind_bulk_s") is not None else "n/a"
        idle_runs = ", ".join(f"{w:.1f}" for w in fair["idle_runs_s"])
        lines += [
            "",
            "| 10 s upload (tenant B, normal) | idle service (s) | behind tenant A's bulk queue (s) | ratio | "
            "A's jobs queued when B uploaded | A's jobs finished when B's was | priority sent |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| upload to transcript | {fair['idle_median_s']:.1f} (median of {idle_runs}) | {behind} | {ratio} | "
            f"{fair['bulk_queued_at_submit']} of {fair['bulk_files']} | {fair['bulk_finished_at_done']} | "
            f"{'yes' if results['settings']['priority_sent'] else 'no (the API does not know it)'} |",
        ]
    rows = targets(p)
    if rows:
        lines += ["", "| target | measured | result |", "|---|---|---|"]
        lines += [f"| {t['target']} | {t['measured']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in rows]
    walls = results["walls_s"]
    lines += [
        "",
        "| phase | wall (s) | load average (1 min) at start / end |",
        "|---|---:|---|",
        *(
            f"| {name} | {wall:.1f} | {results['loads'].get(name, ['', ''])[0]} / {results['loads'].get(name, ['', ''])[1]} |"
            for name, wall in walls.items()
        ),
    ]
    return lines


def render_section(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    trial = results["files"] < FULL_FILES
    parts = [SECTION_HEADING, ""]
    if trial:
        parts += [
            f"**Trial run with {results['files']} files, only to show that the benchmark works, on a machine shared with "
            f"other work: these figures are to be replaced by those of the full run ({FULL_FILES} files).**",
            "",
        ]
    parts += [
        f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gib']} GiB RAM), Linux {m['kernel']}; "
        f"Python {m['python']}; load average {_loads(m['load_start'])} at the start and {_loads(m['load_end'])} at the end. "
        f"Model `{s['model']}` on CPU, {s['cpu_threads']} threads; {_gpu_workers(s)} with "
        f"`SWESCRIBE_ASR_BATCH_SIZE={s['batch_size']}`{_extra_env(s)}, one cpu worker, the API, Redis, SQLite and local "
        f"storage, all on 127.0.0.1. Command: `{results['command']}`.",
        "",
        *render_tables(results),
        "",
        *_where_time_went(results),
        "The clips are built at run time with a fixed seed: each is 2-12 s of real Swedish speech (the CC0 clips of "
        "audio_fixtures/real_speech, cut and joined) or of SYNTHETIC espeak-ng speech (audio_fixtures/synthetic), with its "
        "own gain and dither so no two are byte-identical. The same clips go through every path. CLI: one "
        f"`swescribe transcribe --batch-size {s['cli_batch_size']} --format json` process, start to exit (imports and "
        "model load included). REST: from the start of the first upload "
        f"({s['upload_concurrency']} at a time) to the last job's `finished_at`. Ingest: one `swescribe ingest DIR "
        f"--settle-s {s['settle_s']:g}` process, start to exit (four formats per file). The worker was warmed up "
        "before the clocks started. Fairness: tenant B's 10 s recording of real speech, upload to transcript (polled "
        f"every {SINGLE_POLL_S:g} s), first on the idle service, then right after tenant A's {results['files']} "
        "uploads with `priority=bulk` were all accepted; the bulk jobs still queued when it finished were dropped "
        "with the stack. The run checks that every job completed and every real-speech transcript is non-empty "
        "before it reports.",
        "",
        "Reproduce (from the repository root, with the project's venv):",
        "",
        "```sh",
        f"python bench/throughput/run.py --files {FULL_FILES}   # JSON in docs/throughput.json",
        "```",
    ]
    return "\n".join(parts) + "\n"


def _where_time_went(results: dict) -> list[str]:
    p, notes = results["phases"], []
    cli, rest, ingest = p.get("cli"), p.get("rest"), p.get("ingest")
    if cli and cli.get("work_s") is not None:
        notes.append(
            f"Of the CLI's {cli['wall_s']:.1f} s, {cli['work_s']:.1f} s are its own decoding and recognition timers and "
            f"{cli['outside_work_s']:.1f} s start-up, imports, model load and output, which a larger run spreads over more files."
        )
    if rest and rest.get("mean_in_worker_s") is not None:
        batches = f" in {rest['batches_seen']} worker batches" if rest.get("batches_seen") else ""
        notes.append(
            f"REST: the uploads took {rest['upload_s']:.1f} s; the jobs ran{batches}, "
            f"{rest['mean_in_worker_s']:.2f} s from a job's start to its end on average."
        )
    if ingest and ingest.get("jobs_span_s") is not None:
        notes.append(
            f"Ingest: {ingest['jobs_span_s']:.1f} s from its first job created to its last finished, "
            f"{ingest['outside_jobs_s']:.1f} s of the wall outside that (start-up, settle wait, hashing and storing "
            "before the first job, outputs after the last)."
        )
    return [" ".join(notes), ""] if notes else []


def _loads(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _gpu_workers(settings: dict) -> str:
    if settings.get("gpu_workers", "one") == "one":
        return "one gpu worker for both lanes (`--queues gpu`)"
    return "a gpu worker per lane (`--queues gpu-normal`, `--queues gpu-bulk`, as `swescribe up` runs)"


def _extra_env(settings: dict) -> str:
    extra = settings.get("worker_env") or {}
    return "".join(f", `{k}={v}`" for k, v in sorted(extra.items()))


def machine_info() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1).strip() if match else cpu
    ram = None
    with contextlib.suppress(OSError):
        match = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        ram = round(int(match.group(1)) / 1024**2, 1) if match else None
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


# --- processes -----------------------------------------------------------------------------


class Children:
    """Child processes started here (each in its own process group), stopped on the way out."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def run(self, cmd: list[str], env: dict[str, str], log_path: Path, timeout_s: float) -> tuple[int, float]:
        """Runs `cmd` to its end; (exit code, wall seconds). Killed (whole group) on timeout or error."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "wb") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append(proc)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired as e:
                raise BenchFailed(f"{shlex.join(cmd[:3])} ... still running after {timeout_s:.0f} s; log {log_path}") from e
            finally:
                self.stop(proc)
        return code, time.perf_counter() - started

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def swescribe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "workers.commands.cli", *args]


# The gpu workers of a run: one per lane (what `swescribe up` runs), or one for both lanes.
GPU_WORKERS = {"lanes": ["gpu-normal", "gpu-bulk"], "one": ["gpu"]}


def start_worker(stack, queues: str, index: int) -> None:
    """Registered with the stack before it is waited for, so one that never gets ready is still stopped."""
    log_path = stack.root / f"worker{index}.log"
    worker = stack._spawn(f"worker{index}", "worker", "--queues", queues, "--name", f"{queues}{index}-bench@%h")
    stack.workers.append(worker)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise BenchFailed(f"the {queues} worker exited: {log_path.read_text(errors='replace')[-3000:]}")
        if log_path.exists() and " ready." in log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise BenchFailed(f"the {queues} worker was not ready after {WORKER_START_TIMEOUT_S:.0f} s; log {log_path}")


# --- REST ----------------------------------------------------------------------------------


class Api:
    """Uploads and polls for one key; remembers whether the API knows `priority`."""

    def __init__(self, client, priority_state: dict):
        self.client = client
        self.priority_state = priority_state  # shared: {"supported": bool | None}

    def upload(self, path: Path, priority: str | None = None) -> dict:
        fields = {}
        if priority and self.priority_state["supported"] is not False:
            fields["priority"] = priority
        for _ in range(2):
            with open(path, "rb") as f:
                response = self.client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)
            if response.status_code == 202:
                if "priority" in fields:
                    self.priority_state["supported"] = True
                return response.json()
            if "priority" in fields and 400 <= response.status_code < 500 and "priority" in response.text:
                log(f"the API refused the priority option ({response.status_code}); continuing without it")
                self.priority_state["supported"] = False
                fields.pop("priority")
                continue
            break
        raise BenchFailed(f"POST /v1/jobs for {path.name}: {response.status_code} {response.text[:500]}")

    def job(self, job_id: str) -> dict:
        return self.client.get(f"/v1/jobs/{job_id}").raise_for_status().json()

    def text(self, job_id: str) -> str | None:
        response = self.client.get(f"/v1/jobs/{job_id}/transcript", params={"format": "json"})
        return response.json()["text"].strip() if response.status_code == 200 else None

    def count(self, status: str) -> int:
        return int(self.client.get("/v1/jobs", params={"status": status, "limit": 1}).raise_for_status().json()["total"])

    def all_jobs(self) -> list[dict]:
        jobs, cursor = [], None
        while True:
            params: dict = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            page = self.client.get("/v1/jobs", params=params).raise_for_status().json()
            jobs += page["jobs"]
            cursor = page.get("next_cursor")
            if not cursor:
                return jobs

    def wait_single(self, job_id: str, timeout_s: float) -> float | None:
        """Polls until the JSON transcript is served; the time it was, or None at the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] == "failed":
                raise BenchFailed(f"job {job_id} failed: {job.get('error')}")
            if job["status"] == "completed" and self.text(job_id) is not None:
                return time.perf_counter()
            time.sleep(SINGLE_POLL_S)
        return None

    def wait_all(self, total: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done = self.count("completed") + self.count("failed")
            if done >= total:
                return
            time.sleep(BULK_POLL_S)
        raise BenchFailed(f"only {self.count('completed')} of {total} jobs completed within {timeout_s:.0f} s")


def upload_all(api: Api, clips: Sequence[Clip], concurrency: int, priority: str | None = None) -> dict[str, Clip]:
    """Every clip uploaded, `concurrency` at a time; job id -> clip."""

    def one(clip: Clip) -> tuple[str, Clip]:
        return api.upload(Path(clip.path), priority)["id"], clip

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return dict(pool.map(one, clips))


def single_upload(api: Api, clip: Clip, timeout_s: float, priority: str | None) -> tuple[float | None, dict]:
    started = time.perf_counter()
    job = api.upload(Path(clip.path), priority)
    done = api.wait_single(job["id"], timeout_s)
    return (None if done is None else round(done - started, 3)), job


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


# --- phases --------------------------------------------------------------------------------


def phase_cli(clips: Sequence[Clip], args: argparse.Namespace, env: dict[str, str], children: Children, root: Path) -> dict:
    out_dir = root / "cli-out"
    cmd = swescribe_cmd(
        "transcribe",
        *(c.path for c in clips),
        "--batch-size",
        str(args.cli_batch_size),
        "--language",
        "sv",
        "--model",
        args.model,
        "--format",
        "json",
        "--out",
        str(out_dir),
        "--no-progress",
    )
    code, wall = children.run(cmd, env, root / "cli.log", args.phase_timeout_s)
    texts: dict[str, str | None] = {}
    work_s = 0.0  # the CLI's own timers; with --batch-size a file's share of its batch
    for clip in clips:
        out = out_dir / f"{Path(clip.name).stem}.json"
        transcript = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else None
        texts[Path(clip.name).stem] = transcript["text"].strip() if transcript else None
        timings = (transcript or {}).get("timings_s") or {}
        work_s += timings.get("decode", 0.0) + timings.get("transcribe", 0.0)
    check = check_outputs(clips, texts, "CLI")
    if code != 0:
        check["problems"].append(f"CLI: exited with {code}; log {root / 'cli.log'}")
    return {
        "files": len(clips),
        "wall_s": round(wall, 1),
        "files_per_min": files_per_min(len(clips), wall),
        "work_s": round(work_s, 1),
        "outside_work_s": round(wall - work_s, 1),  # start-up, imports, model load, writing output
        "check": check,
    }


def phase_rest(api: Api, clips: Sequence[Clip], args: argparse.Namespace) -> dict:
    started_at = time.time()
    started = time.perf_counter()
    priority = None if args.rest_priority == "default" else args.rest_priority
    by_id = upload_all(api, clips, args.upload_concurrency, priority)
    upload_s = time.perf_counter() - started
    api.wait_all(len(clips), args.phase_timeout_s - upload_s)
    jobs = {j["id"]: j for j in api.all_jobs() if j["id"] in by_id}
    finished = [_epoch(j["finished_at"]) for j in jobs.values() if j["status"] == "completed" and j.get("finished_at")]
    wall = max(finished) - started_at if finished else float("nan")
    texts: dict[str, str | None] = {}
    for job_id, clip in by_id.items():
        ok = jobs.get(job_id, {}).get("status") == "completed"
        texts[Path(clip.name).stem] = api.text(job_id) if ok else None
    in_worker = [
        _epoch(j["finished_at"]) - _epoch(j["started_at"]) for j in jobs.values() if j.get("started_at") and j.get("finished_at")
    ]
    return {
        "files": len(clips),
        "wall_s": round(wall, 1),
        "files_per_min": files_per_min(len(clips), wall),
        "upload_s": round(upload_s, 1),
        "priority": priority or "default",
        "priorities_seen": sorted({j.get("priority", "n/a") for j in jobs.values()}),
        "batches_seen": len({j["batch"] for j in jobs.values() if j.get("batch")}),
        "mean_in_worker_s": round(statistics.mean(in_worker), 3) if in_worker else None,
        "failed": sum(j["status"] == "failed" for j in jobs.values()),
        "check": check_outputs(clips, texts, "REST"),
    }


def phase_ingest(clips: Sequence[Clip], args: argparse.Namespace, env: dict[str, str], children: Children, root: Path) -> dict:
    folder = root / "folder"
    (folder / "inbox").mkdir(parents=True)
    for clip in clips:
        shutil.copy(clip.path, folder / "inbox" / clip.name)
    cmd = swescribe_cmd("ingest", str(folder), "--settle-s", f"{args.settle_s:g}", "--no-progress")
    code, wall = children.run(cmd, env, root / "ingest.log", args.phase_timeout_s)
    texts = {}
    for clip in clips:
        out = folder / "outbox" / f"{Path(clip.name).stem}.json"
        texts[Path(clip.name).stem] = json.loads(out.read_text(encoding="utf-8"))["text"].strip() if out.is_file() else None
    check = check_outputs(clips, texts, "ingest")
    done = len(list((folder / "done").iterdir())) if (folder / "done").is_dir() else 0
    if code != 0:
        check["problems"].append(f"ingest: exited with {code}; log {root / 'ingest.log'}")
    if done != len(clips):
        check["problems"].append(f"ingest: {done} of {len(clips)} recordings in done/")
    span = job_span(env["SWESCRIBE_DATABASE_URL"], folder)
    return {
        "files": len(clips),
        "wall_s": round(wall, 1),
        "files_per_min": files_per_min(len(clips), wall),
        # first job created -> last job finished; the rest of the wall is the ingest process's own
        # (start-up, settle wait, hashing and storing before the first job, outputs after the last)
        "jobs_span_s": None if span is None else round(span, 1),
        "outside_jobs_s": None if span is None else round(wall - span, 1),
        "check": check,
    }


def job_span(database_url: str, folder: Path) -> float | None:
    """Seconds from the folder's first job created to its last finished, from the job database."""
    from sqlalchemy import func, select

    from workers.ingest.submit import owner_for
    from workers.store.db import Job, as_utc, session_factory

    with session_factory(database_url)() as session:
        first, last = session.execute(
            select(func.min(Job.created_at), func.max(Job.finished_at)).where(Job.owner == owner_for(folder.resolve()))
        ).one()
    start, end = (as_utc(first), as_utc(last)) if first is not None and last is not None else (None, None)
    return None if start is None or end is None else (end - start).total_seconds()


def phase_idle(api_b: Api, single: Clip, args: argparse.Namespace) -> list[float]:
    walls = []
    for run in range(args.idle_runs):
        wall, _ = single_upload(api_b, single, args.phase_timeout_s, "normal")
        if wall is None:
            raise BenchFailed(f"the single upload on the idle service did not finish within {args.phase_timeout_s:.0f} s")
        log(f"  idle run {run + 1}/{args.idle_runs}: {wall:.1f} s")
        walls.append(wall)
    return walls


def phase_fairness(api_a: Api, api_b: Api, clips: Sequence[Clip], single: Clip, idle: list[float], args) -> dict:
    upload_all(api_a, clips, args.upload_concurrency, "bulk")
    queued = api_a.count("queued")
    log(f"  tenant A: {len(clips)} bulk uploads accepted, {queued} still queued; tenant B uploads its 10 s recording")
    wall, job = single_upload(api_b, single, args.fairness_timeout_s, "normal")
    finished_a = api_a.count("completed") + api_a.count("failed")
    return {
        "bulk_files": len(clips),
        "bulk_queued_at_submit": queued,
        "bulk_finished_at_done": finished_a,
        "idle_runs_s": idle,
        "idle_median_s": round(statistics.median(idle), 3),
        "behind_bulk_s": wall,
        "timeout_s": args.fairness_timeout_s,
        "single_priority_seen": job.get("priority", "n/a"),
        "single_clip": {k: v for k, v in asdict(single).items() if k != "path"},
    }


# --- the run -------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--files", type=int, default=FULL_FILES, help="short clips through every path")
    parser.add_argument("--seed", type=int, default=300, help="seed of the clips")
    parser.add_argument("--min-s", type=float, default=2.0, help="shortest clip")
    parser.add_argument("--max-s", type=float, default=12.0, help="longest clip")
    parser.add_argument("--real-fraction", type=float, default=0.5, help="share of clips made of real speech")
    parser.add_argument("--model", default="whisper-base-offline", help="model name or folder, as for swescribe")
    parser.add_argument("--cpu-threads", type=int, default=2, help="SWESCRIBE_ASR_CPU_THREADS of the worker and the CLI")
    parser.add_argument("--batch-size", type=int, default=8, help="SWESCRIBE_ASR_BATCH_SIZE of the worker")
    parser.add_argument("--cli-batch-size", type=int, default=8, help="swescribe transcribe --batch-size")
    parser.add_argument("--upload-concurrency", type=int, default=4, help="uploads in flight at once")
    parser.add_argument(
        "--rest-priority", choices=("default", "normal", "bulk"), default="default", help="priority of the REST phase's uploads"
    )
    parser.add_argument("--no-priority", action="store_true", help="never send the priority option")
    parser.add_argument("--settle-s", type=float, default=1.0, help="swescribe ingest --settle-s")
    parser.add_argument("--idle-runs", type=int, default=3, help="single uploads on the idle service (median)")
    parser.add_argument("--warmup-clips", type=int, default=8, help="short clips in the warm-up burst")
    parser.add_argument("--phase-timeout-s", type=float, default=3600.0, help="time limit of each phase")
    parser.add_argument(
        "--fairness-timeout-s",
        type=float,
        default=None,
        help="limit for the upload behind the bulk queue (default: the phase limit)",
    )
    parser.add_argument("--phases", default="cli,rest,ingest,fairness", help="phases to run, comma separated")
    parser.add_argument(
        "--gpu-workers",
        choices=["lanes", "one"],
        default="lanes",
        help="lanes: a worker per lane (gpu-normal, gpu-bulk), as `swescribe up` runs; one: a single `--queues gpu` worker",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for the stack's processes (repeatable)",
    )
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-throughput")
    parser.add_argument("--results", type=Path, default=REPO / "docs" / "throughput.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not touch --docs")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - {"cli", "rest", "ingest", "fairness"}
    if unknown:
        parser.error(f"unknown phases: {sorted(unknown)}")
    if args.files < 1 or args.idle_runs < 1 or args.upload_concurrency < 1 or not 0 <= args.real_fraction <= 1:
        parser.error("--files, --idle-runs and --upload-concurrency must be at least 1, --real-fraction in 0..1")
    if not 0 < args.min_s <= args.max_s:
        parser.error("need 0 < --min-s <= --max-s")
    try:
        args.worker_env = dict(item.split("=", 1) for item in args.worker_env)
    except ValueError:
        parser.error("--worker-env takes NAME=VALUE")
    args.fairness_timeout_s = args.fairness_timeout_s or args.phase_timeout_s
    for name in ("work_dir", "results", "docs"):
        setattr(args, name, getattr(args, name).resolve())
    return args


def timed(walls: dict, loads: dict, name: str, fn: Callable):
    log(f"phase {name}")
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        return fn()
    finally:
        walls[name] = round(time.perf_counter() - started, 1)
        loads[name] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
        log(f"  {name}: {walls[name]:.1f} s")


def run(args: argparse.Namespace, children: Children) -> dict:
    import httpx

    from tests.integration.stack import make_stack

    args.work_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="run-", dir=args.work_dir))
    walls: dict[str, float] = {}
    loads: dict[str, list[float]] = {}
    phases: dict[str, dict] = {}
    priority_state: dict = {"supported": False if args.no_priority else None}
    stack = None
    failed = False
    try:
        sources = load_sources()
        log(f"{sum(s.real for s in sources)} real and {sum(not s.real for s in sources)} synthetic speech sources")
        clips = timed(
            walls,
            loads,
            "build clips",
            lambda: build_clips(sources, root / "clips", args.files, args.seed, args.min_s, args.max_s, args.real_fraction),
        )
        warm_clips = build_clips(
            sources, root / "warm", args.warmup_clips, args.seed + 1, args.min_s, args.max_s, args.real_fraction, prefix="warm"
        )
        single = build_single(sources, root / "single", args.seed)
        stack = make_stack(
            root / "stack",
            f"sqlite:///{root / 'stack' / 'swescribe.db'}",
            args.work_dir / "models",
            asr_model=args.model,
            asr_batch_size=str(args.batch_size),
            asr_cpu_threads=str(args.cpu_threads),
            asr_language="sv",
        )
        stack.env.update(args.worker_env)
        model_json = root / "model.json"
        code, _ = timed(
            walls,
            loads,
            "resolve model",
            lambda: children.run(
                [sys.executable, str(ASR_BENCH / "model_info.py"), "--model", args.model, "--out", str(model_json)],
                stack.env,
                root / "model_info.log",
                args.phase_timeout_s,
            ),
        )
        if code != 0:
            raise BenchFailed(f"model_info.py exited with {code}; log {root / 'model_info.log'}")
        model = json.loads(model_json.read_text(encoding="utf-8"))
        stack.env.update(SWESCRIBE_ASR_DEVICE=model["device"], SWESCRIBE_ASR_COMPUTE_TYPE=model["compute_type"])

        if "cli" in args.phases:
            phases["cli"] = timed(walls, loads, "cli", lambda: phase_cli(clips, args, stack.env, children, root))
            log(f"  CLI: {phases['cli']['files_per_min']} files/min")

        def start() -> None:
            stack.start_api()
            for index, queues in enumerate([*GPU_WORKERS[args.gpu_workers], "cpu"]):
                start_worker(stack, queues, index)

        timed(walls, loads, "start stack", start)
        stack.cli("tenants", "create", "throughput")
        stack.cli("tenants", "create", "bulk-a")
        stack.cli("tenants", "create", "interactive-b")
        clients = [
            stack.client(stack.create_key(name, "--tenant", tenant), timeout=120)
            for name, tenant in (("rest", "throughput"), ("a", "bulk-a"), ("b", "interactive-b"))
        ]
        api_rest, api_a, api_b = (Api(c, priority_state) for c in clients)
        try:

            def warm_up() -> None:
                wall, _ = single_upload(
                    api_b, Clip(WARMUP_FIXTURE.name, str(WARMUP_FIXTURE), 0.0, False, ()), args.phase_timeout_s, None
                )
                if wall is None:
                    raise BenchFailed("the warm-up job did not finish")
                log(f"  warm-up job: {wall:.1f} s")
                upload_all(api_b, warm_clips, args.upload_concurrency, "normal")
                api_b.wait_all(len(warm_clips) + 1, args.phase_timeout_s)
                if args.gpu_workers == "lanes":  # the bulk lane's worker loads its model too
                    upload_all(api_b, warm_clips, args.upload_concurrency, "bulk")
                    api_b.wait_all(2 * len(warm_clips) + 1, args.phase_timeout_s)

            timed(walls, loads, "warm-up", warm_up)
            idle: list[float] = []
            if "fairness" in args.phases:
                idle = timed(walls, loads, "idle single upload", lambda: phase_idle(api_b, single, args))
            if "rest" in args.phases:
                phases["rest"] = timed(walls, loads, "rest", lambda: phase_rest(api_rest, clips, args))
                log(f"  REST: {phases['rest']['files_per_min']} files/min")
            if "ingest" in args.phases:
                phases["ingest"] = timed(walls, loads, "ingest", lambda: phase_ingest(clips, args, stack.env, children, root))
                log(f"  ingest: {phases['ingest']['files_per_min']} files/min")
            if "fairness" in args.phases:
                phases["fairness"] = timed(
                    walls, loads, "fairness", lambda: phase_fairness(api_a, api_b, clips, single, idle, args)
                )
        finally:
            for client in clients:
                client.close()
    except (httpx.HTTPError, OSError, subprocess.SubprocessError, RuntimeError, ValueError, KeyError) as e:  # BenchFailed too
        failed = True
        raise BenchFailed(f"{e}\nlogs are in {root}") from e
    except BaseException:
        failed = True
        raise
    finally:
        children.stop_all()
        if stack is not None:
            log("stopping the stack")
            stack.stop()
        if not failed:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "clips": clip_summary(clips),
        "clip_list": [{k: v for k, v in asdict(c).items() if k != "path"} for c in clips],
        "model": model,
        "phases": phases,
        "walls_s": walls,
        "loads": loads,
        "priority_sent": priority_state["supported"] is True,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = machine_info()
    load_start = [round(v, 2) for v in os.getloadavg()]
    children = Children()
    try:
        measured = run(args, children)
    except BenchFailed as e:
        log(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; child processes stopped")
        return 130
    machine.update(load_start=load_start, load_end=[round(v, 2) for v in os.getloadavg()])
    problems = [p for phase in measured["phases"].values() for p in phase.get("check", {}).get("problems", [])]
    results = {
        "benchmark": "throughput",
        "date_utc": date_utc,
        "command": shlex.join(["python", "bench/throughput/run.py", *argv]),
        "files": args.files,
        "trial": args.files < FULL_FILES,
        "machine": machine,
        "settings": {
            "model": measured["model"].get("name", args.model),
            "device": measured["model"].get("device"),
            "compute_type": measured["model"].get("compute_type"),
            "cpu_threads": args.cpu_threads,
            "batch_size": args.batch_size,
            "cli_batch_size": args.cli_batch_size,
            "upload_concurrency": args.upload_concurrency,
            "settle_s": args.settle_s,
            "seed": args.seed,
            "real_fraction": args.real_fraction,
            "priority_sent": measured["priority_sent"],
            "worker_env": args.worker_env,
            "gpu_workers": args.gpu_workers,
        },
        "clips": measured["clips"],
        "phases": measured["phases"],
        "targets": targets(measured["phases"]),
        "walls_s": measured["walls_s"],
        "loads": measured["loads"],
        "verified": not problems,
        "problems": problems,
        "clip_list": measured["clip_list"],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\n".join(render_tables(results)), flush=True)
    if problems:
        log("NOT VERIFIED (docs left alone):\n  " + "\n  ".join(problems))
        return 1
    if not args.no_docs:
        sys.path.insert(0, str(ASR_BENCH))
        import report  # bench/asr: the Markdown section replacement shared by the benchmarks

        text = args.docs.read_text(encoding="utf-8") if args.docs.is_file() else report.DOCS_HEADER
        args.docs.write_text(report.replace_section(text, SECTION_HEADING, render_section(results)), encoding="utf-8")
    log(f"wrote {args.results}" + ("" if args.no_docs else f" and the throughput section of {args.docs}"))
    return 0


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())
