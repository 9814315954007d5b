"""GPU benchmark: real-time factor and GPU memory per stage, with KB-Whisper Large and community-1.

Written to be run on a GPU host; nothing in docs/benchmarks.md was measured with it on a GPU
yet. Per stage, on one recording:

- decode: the file to 16 kHz mono samples (workers.transcript.audio.decode_audio);
- transcribe_sequential: workers.pipeline.transcribe.transcribe, TranscribeOptions(batch_size=1);
- transcribe_batched: the same with batch_size=--batch-size (faster-whisper's
  BatchedInferencePipeline over the VAD's speech chunks);
- diarize: workers.pipeline.diarize.diarize with the loaded pyannote pipeline;

it reports seconds, real-time factor (seconds / audio duration) and the GPU memory peak:
for decode and the CTranslate2 stages, the device's used memory sampled every --sample-s
while the stage runs (pynvml when installed, else `nvidia-smi`), with the value just before the
stage; for pyannote, torch.cuda.max_memory_allocated() over the stage as well. Models are loaded
by the project's own code (resolve_model + load_model, resolve_diarizer + load_diarizer, with
the Hub settings of SWESCRIBE_* such as SWESCRIBE_HF_TOKEN and SWESCRIBE_MODEL_CACHE_DIR):
a Hub name is taken from the local cache or downloaded, a folder is used as it is. Model load
times are reported apart from the stages. The published figures to compare with (ANCHORS) are
printed and written with the results.

The audio is --audio FILE, or by default a --minutes long recording built at run time from the
real and SYNTHETIC Swedish speech clips of audio_fixtures (bench/long_batched/make_audio.py,
fixed seed).

On a GPU host (models from the Hub, a token with access to the gated community-1):

    SWESCRIBE_HF_TOKEN=hf_... python bench/gpu/run.py --results gpu.json
    python bench/gpu/run.py --asr-model /srv/models/kb-whisper-large \
        --diarization-model /srv/models/speaker-diarization-community-1 --minutes 60

Here, on the CPU with the offline models (what the test runs, on a few seconds of audio):

    python bench/gpu/run.py --device cpu --asr-model whisper-base-offline \
        --diarization-model pyannote-offline --audio audio_fixtures/synthetic/sv_clean_f4_04.flac

Exit codes: 0 done, 2 a model could not be had (the message says how to get it), 1 other failure.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from workers.transcript.errors import ModelNotFoundError, ModelUnavailableError  # noqa: E402

STAGES = ("decode", "transcribe_sequential", "transcribe_batched", "diarize")
MIB = 1024 * 1024

# Published figures to compare with, quoted from their sources. Where they were found: the
# faster-whisper table in the README of SYSTRAN/faster-whisper, section "Benchmark" (the current
# table in a copy of raw.githubusercontent.com/SYSTRAN/faster-whisper/HEAD/README.md found through
# the docs and code search; the older V100S table in the repository's README at commit
# aa5311c1); community-1's speed in pyannote.audio's own README, section "Benchmark", as shipped
# in the pyannote.audio 4.0.7 package's metadata (the README on PyPI), which gives no GPU memory.
FASTER_WHISPER_AUDIO_S = 13 * 60  # "13 minutes of audio" in both README tables
ANCHORS: list[dict[str, Any]] = [
    {
        "stage": "transcribe_sequential",
        "what": "faster-whisper, Whisper large-v2, fp16, beam 5, sequential",
        "audio_s": FASTER_WHISPER_AUDIO_S,
        "seconds": 63,
        "rtf": round(63 / FASTER_WHISPER_AUDIO_S, 4),
        "gpu_memory_mib": 4525,
        "hardware": "NVIDIA RTX 3070 Ti 8GB, CUDA 12.4 (faster-whisper v1.1.0)",
        "source": "https://github.com/SYSTRAN/faster-whisper/blob/master/README.md#benchmark "
        "(Large-v2 model on GPU: 'faster-whisper | fp16 | 5 | 1m03s | 4525MB')",
    },
    {
        "stage": "transcribe_batched",
        "what": "faster-whisper, Whisper large-v2, fp16, beam 5, batch_size=8",
        "audio_s": FASTER_WHISPER_AUDIO_S,
        "seconds": 17,
        "rtf": round(17 / FASTER_WHISPER_AUDIO_S, 4),
        "gpu_memory_mib": 6090,
        "hardware": "NVIDIA RTX 3070 Ti 8GB, CUDA 12.4 (faster-whisper v1.1.0)",
        "source": "https://github.com/SYSTRAN/faster-whisper/blob/master/README.md#benchmark "
        "(Large-v2 model on GPU: 'faster-whisper (`batch_size=8`) | fp16 | 5 | 17s | 6090MB')",
    },
    {
        "stage": "transcribe_sequential",
        "what": "faster-whisper, Whisper large-v2, int8, beam 5, sequential",
        "audio_s": FASTER_WHISPER_AUDIO_S,
        "seconds": 59,
        "rtf": round(59 / FASTER_WHISPER_AUDIO_S, 4),
        "gpu_memory_mib": 2926,
        "hardware": "NVIDIA RTX 3070 Ti 8GB, CUDA 12.4 (faster-whisper v1.1.0)",
        "source": "https://github.com/SYSTRAN/faster-whisper/blob/master/README.md#benchmark "
        "(Large-v2 model on GPU: 'faster-whisper | int8 | 5 | 59s | 2926MB')",
    },
    {
        "stage": "transcribe_batched",
        "what": "faster-whisper, Whisper large-v2, int8, beam 5, batch_size=8",
        "audio_s": FASTER_WHISPER_AUDIO_S,
        "seconds": 16,
        "rtf": round(16 / FASTER_WHISPER_AUDIO_S, 4),
        "gpu_memory_mib": 4500,
        "hardware": "NVIDIA RTX 3070 Ti 8GB, CUDA 12.4 (faster-whisper v1.1.0)",
        "source": "https://github.com/SYSTRAN/faster-whisper/blob/master/README.md#benchmark "
        "(Large-v2 model on GPU: 'faster-whisper (`batch_size=8`) | int8 | 5 | 16s | 4500MB')",
    },
    {
        "stage": "transcribe_sequential",
        "what": "faster-whisper, Whisper large-v2, fp16, beam 5, sequential (older README table)",
        "audio_s": FASTER_WHISPER_AUDIO_S,
        "seconds": 54,
        "rtf": round(54 / FASTER_WHISPER_AUDIO_S, 4),
        "gpu_memory_mib": 4755,
        "hardware": "NVIDIA Tesla V100S, CUDA 11.7.1 (faster-whisper at commit cce6b53e)",
        "source": "https://github.com/SYSTRAN/faster-whisper/blob/aa5311c164f08dbe3474facfa83d7d3a386dc92f/README.md "
        "(Large-v2 model on GPU: 'faster-whisper | fp16 | 5 | 54s | 4755MB | 3244MB')",
    },
    {
        "stage": "diarize",
        "what": "pyannote speaker-diarization-community-1, AMI (IHM), ~1 h files",
        "audio_s": 3600,
        "seconds": 31,
        "rtf": round(31 / 3600, 4),
        "gpu_memory_mib": None,
        "hardware": "NVIDIA H100 80GB HBM3 (self-hosted)",
        "source": "https://github.com/pyannote/pyannote-audio/blob/main/README.md#benchmark (pyannote.audio 4.0.7 README, "
        "'Benchmark (last updated in 2025-09)': 'AMI (IHM), ~1h files | 31s per hour of audio')",
    },
    {
        "stage": "diarize",
        "what": "pyannote speaker-diarization-community-1, DIHARD 3 (full), ~5 min files",
        "audio_s": 3600,
        "seconds": 37,
        "rtf": round(37 / 3600, 4),
        "gpu_memory_mib": None,
        "hardware": "NVIDIA H100 80GB HBM3 (self-hosted)",
        "source": "https://github.com/pyannote/pyannote-audio/blob/main/README.md#benchmark (pyannote.audio 4.0.7 README, "
        "'Benchmark (last updated in 2025-09)': 'DIHARD 3 (full), ~5min files | 37s per hour of audio')",
    },
]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        results = run(args)
    except (ModelNotFoundError, ModelUnavailableError) as e:
        print(f"bench/gpu: {e}", file=sys.stderr)
        print(
            "bench/gpu: --asr-model and --diarization-model take a name, a Hub repo id or a local folder; "
            "community-1 is gated: accept its terms on the Hub and set SWESCRIBE_HF_TOKEN, or pass a local clone.",
            file=sys.stderr,
        )
        return 2
    text = json.dumps(results, ensure_ascii=False, indent=2) + "\n"
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(text, encoding="utf-8")
    print(render_markdown(results))
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--asr-model", default="kb-whisper-large", help="model name, Hub repo id or folder, as for swescribe")
    parser.add_argument(
        "--diarization-model", default="community-1", help="community-1, pyannote-offline, a Hub repo id or a folder"
    )
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--compute-type", default="auto", help="CTranslate2 type; auto: float16 on cuda, int8 on cpu")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size of the batched transcription stage")
    parser.add_argument("--cpu-threads", type=int, default=0, help="CTranslate2 and torch CPU threads; 0: their default")
    parser.add_argument("--gpu-index", type=int, default=0, help="NVML index of the GPU whose memory is sampled")
    parser.add_argument("--sample-s", type=float, default=0.05, help="GPU memory sampling interval")
    audio = parser.add_mutually_exclusive_group()
    audio.add_argument("--audio", type=Path, help="a recording to use instead of the built one")
    audio.add_argument("--minutes", type=float, default=10.0, help="length of the recording built from the fixtures")
    parser.add_argument("--results", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.batch_size < 2:
        parser.error("--batch-size must be at least 2 (1 is the sequential stage)")
    if args.audio is not None and not args.audio.is_file():
        parser.error(f"--audio {args.audio}: no such file")
    return args


# --- GPU memory --------------------------------------------------------------------------------


class GpuMemory:
    """Used memory of one GPU, in MiB, read through pynvml or nvidia-smi (device-wide: other
    processes on the same GPU count too)."""

    def __init__(self, index: int, enabled: bool = True):
        self.index = index
        self.method = "none"
        self._handle: Any = None
        if not enabled:  # a CPU run: nothing to sample
            return
        try:
            import pynvml  # nvidia-ml-py, when installed

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._pynvml = pynvml
            self.method = "pynvml"
        except Exception:  # noqa: BLE001 - not installed, no driver, no such GPU: try nvidia-smi
            if shutil.which("nvidia-smi") and self._smi() is not None:
                self.method = "nvidia-smi"

    def used_mib(self) -> float | None:
        if self.method == "pynvml":
            return float(self._pynvml.nvmlDeviceGetMemoryInfo(self._handle).used) / MIB
        if self.method == "nvidia-smi":
            return self._smi()
        return None

    def _smi(self) -> float | None:
        try:
            out = subprocess.run(
                ["nvidia-smi", f"--id={self.index}", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout
            return float(out.strip().splitlines()[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None

    def describe(self) -> dict[str, Any] | None:
        if self.method == "none":
            return None
        try:
            out = subprocess.run(
                ["nvidia-smi", f"--id={self.index}", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            name, total, driver = (part.strip() for part in out.split(","))
            return {"name": name, "memory_total": total, "driver": driver, "index": self.index}
        except (OSError, subprocess.SubprocessError, ValueError):
            return {"index": self.index}


@contextmanager
def sampled(gpu: GpuMemory, interval_s: float) -> Iterator[dict[str, Any]]:
    """Sample the GPU's used memory in a thread while the block runs; the yielded dict gets
    before_mib, peak_mib and samples when the block ends."""
    found: dict[str, Any] = {"method": gpu.method}
    if gpu.method == "none":
        yield found
        return
    before = gpu.used_mib()
    peak = before or 0.0
    samples = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak, samples
        while not done.is_set():
            used = gpu.used_mib()
            if used is not None:
                peak = max(peak, used)
                samples += 1
            done.wait(interval_s)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        done.set()
        thread.join()
        last = gpu.used_mib()
        peak = max(peak, last or 0.0)
        found.update(
            before_mib=_round(before), peak_mib=_round(peak), peak_over_before_mib=_round(peak - (before or 0.0)), samples=samples
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    from workers.pipeline.asr_model import DeviceOptions, load_model
    from workers.pipeline.diarization_model import load_diarizer, resolve_diarizer
    from workers.pipeline.model_registry import resolve_model
    from workers.runners.configured_models import hub_options
    from workers.settings import get_settings

    settings = get_settings()
    hub = hub_options(settings)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    gpu = GpuMemory(args.gpu_index, enabled=args.device == "cuda")

    # Both models are resolved first: a missing one fails before minutes of audio are built.
    asr_source = resolve_model(args.asr_model, cache_dir=settings.models_dir, hub=hub)
    diarizer_source = resolve_diarizer(args.diarization_model, hub)

    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as work:
        audio_path, audio_note = audio_file(args, Path(work))
        stages: dict[str, dict[str, Any]] = {}
        loads: dict[str, dict[str, Any]] = {}

        with sampled(gpu, args.sample_s) as memory:
            model = load_model(asr_source, DeviceOptions(args.device, args.compute_type, args.cpu_threads))
        loads["asr"] = {"seconds": round(model.load_s, 3), "gpu_memory": memory}

        audio, stages["decode"] = timed_stage("decode", gpu, args, lambda: _decode(audio_path))
        duration_s = audio.duration_s

        from workers.pipeline.transcribe import TranscribeOptions, transcribe

        for name, batch_size in (("transcribe_sequential", 1), ("transcribe_batched", args.batch_size)):
            transcript, stage = timed_stage(
                name, gpu, args, lambda b=batch_size: transcribe(model, audio, TranscribeOptions(batch_size=b))
            )
            stage.update(
                batch_size=batch_size, segments=len(transcript.segments), words=sum(len(s.words) for s in transcript.segments)
            )
            stages[name] = stage

        with sampled(gpu, args.sample_s) as memory:
            diarizer = load_diarizer(diarizer_source, args.device, args.cpu_threads)
        loads["diarization"] = {"seconds": round(diarizer.load_s, 3), "gpu_memory": memory}
        torch_peak = _torch_peak_tracker(args.device)
        from workers.pipeline.diarize import diarize

        diarization, stage = timed_stage("diarize", gpu, args, lambda: diarize(diarizer, audio))
        stage.update(torch_max_allocated_mib=torch_peak(), speakers=len(diarization.speakers), turns=len(diarization.turns))
        stages["diarize"] = stage

    for stage in stages.values():
        stage["rtf"] = round(stage["seconds"] / duration_s, 4) if duration_s > 0 else None
    return {
        "benchmark": "gpu",
        "date_utc": date_utc,
        "command": "python bench/gpu/run.py " + " ".join(sys.argv[1:]),
        "device": args.device,
        "gpu": gpu.describe() if args.device == "cuda" else None,
        "cpu": {"model": _cpu_model(), "cores": os.cpu_count()},
        "versions": _versions(),
        "audio": {"source": audio_note, "duration_s": round(duration_s, 3)},
        "asr_model": {
            "name": asr_source.name,
            "revision": asr_source.revision,
            "device": model.info.device,
            "compute_type": model.info.compute_type,
        },
        "diarization_model": {"name": diarizer_source.name, "revision": diarizer_source.revision, "device": diarizer.device},
        "loads": loads,
        "stages": [{"stage": name, **stages[name]} for name in STAGES],
        "anchors": ANCHORS,
    }


def timed_stage(name: str, gpu: GpuMemory, args: argparse.Namespace, work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
    with sampled(gpu, args.sample_s) as memory:
        started = time.perf_counter()
        value = work()
        seconds = time.perf_counter() - started
    return value, {"seconds": round(seconds, 3), "gpu_memory": memory}


def _decode(path: Path) -> Any:
    from workers.transcript.audio import decode_audio

    return decode_audio(path)


def _torch_peak_tracker(device: str) -> Callable[[], float | None]:
    """Reset torch's CUDA peak counter now; the returned function reads it (MiB), None on CPU."""
    if device != "cuda":
        return lambda: None
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()

    def read() -> float | None:
        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / MIB, 1)

    return read


def audio_file(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The recording to use, and a note of where it came from."""
    if args.audio is not None:
        return args.audio, str(args.audio)
    subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "long_batched" / "make_audio.py"),
            "--work-dir",
            str(work),
            "--minutes",
            str(args.minutes),
        ],
        check=True,
        cwd=REPO,
    )
    recording = json.loads((work / "recording.json").read_text(encoding="utf-8"))
    real = sum(c["real"] for c in recording["clips"])
    note = (
        f"{args.minutes:g} min built from audio_fixtures: {real} real and {len(recording['clips']) - real} SYNTHETIC "
        f"(espeak-ng) speech clips, seed {recording['seed']}"
    )
    return Path(recording["path"]), note


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in ("faster-whisper", "ctranslate2", "torch", "pyannote.audio"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


# --- report ----------------------------------------------------------------------------------


def render_markdown(results: dict[str, Any]) -> str:
    def mib(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    gpu = results["gpu"]
    where = f"{gpu.get('name', 'GPU')} (driver {gpu.get('driver', '?')})" if gpu else f"CPU only ({results['cpu']['model']})"
    lines = [
        f"bench/gpu, {results['date_utc']}, {where}; ASR {results['asr_model']['name']} on "
        f"{results['asr_model']['device']}/{results['asr_model']['compute_type']}, diarization "
        f"{results['diarization_model']['name']} on {results['diarization_model']['device']}; audio "
        f"{results['audio']['duration_s']:.1f} s ({results['audio']['source']}).",
        "",
        "| stage | seconds | RTF | GPU used before (MiB) | GPU peak (MiB) | peak - before (MiB) | torch max allocated (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in results["stages"]:
        memory = stage["gpu_memory"]
        rtf = "-" if stage["rtf"] is None else f"{stage['rtf']:.4f}"
        lines.append(
            f"| {stage['stage']} | {stage['seconds']:.2f} | {rtf} | {mib(memory.get('before_mib'))} | {mib(memory.get('peak_mib'))} "
            f"| {mib(memory.get('peak_over_before_mib'))} | {mib(stage.get('torch_max_allocated_mib'))} |"
        )
    lines += [
        "",
        f"Model loads: ASR {results['loads']['asr']['seconds']:.1f} s, diarization {results['loads']['diarization']['seconds']:.1f} s.",
        "",
        "Published anchors:",
        "",
        "| stage | what | hardware | seconds for audio | RTF | GPU memory (MiB) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for anchor in results["anchors"]:
        lines.append(
            f"| {anchor['stage']} | {anchor['what']} | {anchor['hardware']} | {anchor['seconds']} s for {anchor['audio_s']} s "
            f"| {anchor['rtf']:.4f} | {mib(anchor['gpu_memory_mib'])} |"
        )
    lines += ["", "Sources:", *(f"- {a['what']}: {a['source']}" for a in results["anchors"])]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
