"""Energy benchmark: Wh per audio hour of a transcription job on this machine, under the cost meter.

Builds a recording of --minutes (default 5) as bench/service/run.py does (bench/asr/make_audio.py,
real and synthetic Swedish speech clips with 0.5-1.5 s pauses, fixed seed), then runs the
job's stages in this process under workers/pipeline/cost.py's CostMeter, wired as a worker
wires it: load_model, then the pipeline's own stages (decode, transcribe) through its stage
hook, then store (the transcript's JSON written to disk). The meter measures energy from RAPL
where this process can read it, else estimates it from the settings' per-device figures
(SWESCRIBE_ENERGY_CPU_WATTS_PER_CORE, SWESCRIBE_ENERGY_GPU_BOARD_WATTS), and says which.

Reported: audio seconds, per stage wall / CPU / GPU seconds, energy in Wh and its source, Wh and
CPU seconds per audio hour, the CPU model (/proc/cpuinfo), the date and the load average at the
start and the end. Results go to --results (JSON) and the "## Energy (bench/energy)" section of
--docs (docs/benchmarks.md); the rest of that file is left alone. From the repository root,
with the project's venv:

    python bench/energy/run.py
    python bench/energy/run.py --minutes 0.5 --results /tmp/energy.json --docs /tmp/energy.md   # smoke run
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASR_BENCH = REPO / "bench" / "asr"
sys.path[:0] = [str(REPO), str(ASR_BENCH)]

import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)

from workers.pipeline.cost import RAPL_ROOT, CostMeter  # noqa: E402
from workers.pipeline.progress import ProgressHook, no_progress  # noqa: E402
from workers.pipeline.run import transcribe_file  # noqa: E402
from workers.pipeline.transcribe import TranscribeOptions  # noqa: E402
from workers.runners.configured_models import load_configured_model  # noqa: E402
from workers.runners.cost import configured_meter  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.transcript.formats import to_json  # noqa: E402

SECTION_HEADING = "## Energy (bench/energy)"
# Where the per-device figures' defaults come from (workers/settings.py), kept with the figures.
DEFAULTS_NOTE = [
    "How each job's energy is found (workers/pipeline/cost.py): per device, from the host's counter where this "
    "process can read it, else estimated, and labelled which (`energy_source`, CPU first, joined by `+`):",
    "",
    "- CPU: RAPL's package counters (`/sys/class/powercap/intel-rapl:N/energy_uj`, wraparound handled through "
    "`max_energy_range_uj`; AMD processors report there too on recent kernels): `measured_rapl`. They count the "
    "whole package, every process on it and its idle draw, so on a shared host a job's figure includes its "
    "neighbours'. Since Linux 5.10 only root may read them; a worker running as a user gets the estimate.",
    "- GPU: the board's energy counter through NVML (`nvidia-ml-py`, in the worker extra; Volta and newer): "
    "`measured_nvml`, the whole board, other processes on it included.",
    "- Else `estimated`: CPU seconds (`time.process_time`, every thread of the worker process) x "
    "`SWESCRIBE_ENERGY_CPU_WATTS_PER_CORE`, plus GPU seconds x `SWESCRIBE_ENERGY_GPU_BOARD_WATTS`. GPU seconds are "
    "the wall time of the stages that run on the GPU (transcribe, diarize), counted as if the GPU were busy all "
    "of it: an upper bound.",
    "",
    "The defaults. 4 W per busy logical CPU: the Cloud Carbon Footprint methodology's full-load watts per vCPU, "
    "from SPECpower results of the processors each cloud uses, average 3.5 W (AWS), 3.76 W (Azure) and 4.26 W "
    "(GCP, median), whole servers included; the TDP per hardware thread of current server processors is lower "
    "(AMD EPYC 7763: 280 W / 128 threads = 2.2 W; Intel Xeon Platinum 8380: 270 W / 80 threads = 3.4 W). 4 W leans "
    "to the whole-server figure, since a job keeps memory and the rest of the server busy too. 150 W per GPU: an "
    "NVIDIA A10's board power; a T4 or an L4 draws at most about 70 W, an A100 250-400 W: set your card's figure. "
    "Counters are read at each stage's start and end, and every 30 s in between (so a RAPL counter cannot wrap "
    "twice unseen); time between stages is not counted. A job decoded in a batch with other short jobs carries "
    "its share of the batch's cost, in proportion to its audio duration.",
]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    recording = build_audio(args)
    settings = Settings(_env_file=None, data_dir=args.work_dir / "data", asr_model=args.model, asr_cpu_threads=args.cpu_threads)
    load_start = os.getloadavg()
    runs = [measure(recording, settings, args.work_dir / f"transcript_{i}.json") for i in range(args.repeat)]
    load_end = os.getloadavg()
    results = {
        "benchmark": "energy",
        "date_utc": date_utc,
        "command": " ".join(["python", "bench/energy/run.py", *argv]),
        "machine": {**report.machine_info(), "cpu_model_cpuinfo": cpu_model()},
        "load_average": {"start": [round(v, 2) for v in load_start], "end": [round(v, 2) for v in load_end]},
        "rapl": rapl_state(),
        "settings": {
            "model": args.model,
            "cpu_threads": args.cpu_threads,
            "energy_cpu_watts_per_core": settings.energy_cpu_watts_per_core,
            "energy_gpu_board_watts": settings.energy_gpu_board_watts,
        },
        "versions": {name: _version(name) for name in ("faster-whisper", "ctranslate2")},
        "recording": {k: recording[k] for k in ("minutes", "duration_s", "clips")},
        "runs": runs,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    text = args.docs.read_text(encoding="utf-8") if args.docs.is_file() else report.DOCS_HEADER
    args.docs.write_text(report.replace_section(text, SECTION_HEADING, render_section(results)), encoding="utf-8")
    for run in runs:
        print(
            f"{run['energy_wh']:.4f} Wh ({run['energy_source']}) for {recording['duration_s']:.0f} s of audio: "
            f"{run['wh_per_audio_hour']:.3f} Wh per audio hour, {run['cpu_s_per_audio_hour']:.0f} CPU s per audio hour"
        )
    print(f"wrote {args.results} and the energy section of {args.docs}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the recording")
    parser.add_argument("--model", default="whisper-base-offline")
    parser.add_argument("--cpu-threads", type=int, default=2, help="SWESCRIBE_ASR_CPU_THREADS for the run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the same recording, each reported")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "work-energy")
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    return parser.parse_args(argv)


def build_audio(args: argparse.Namespace) -> dict:
    """bench/asr's make_audio.py, in its own process as bench/service does."""
    subprocess.run(
        [
            sys.executable,
            str(ASR_BENCH / "make_audio.py"),
            "--work-dir",
            str(args.work_dir),
            "--minutes-long",
            f"{args.minutes:g}",
            "--short-clips",
            "0",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    long = json.loads((args.work_dir / "audio.json").read_text(encoding="utf-8"))["long"]
    return dict(long[0])


def measure(recording: dict, settings: Settings, out: Path) -> dict:
    """One job's stages under a fresh meter (the model is cached after the first run, as in a
    warm worker: later runs' load_model is only the cache lookup)."""
    meter = configured_meter(settings)
    started = time.perf_counter()
    with meter.stage("load_model"):
        model = load_configured_model(settings.asr_model, settings)

    def on_stage(name: str) -> ProgressHook:
        meter.begin(name)  # the pipeline names each stage as it starts: decode, transcribe
        return no_progress

    transcript = transcribe_file(model, recording["path"], TranscribeOptions(language="sv"), on_stage=on_stage)
    meter.end()
    with meter.stage("store"):
        out.write_text(to_json(transcript), encoding="utf-8")
    wall_s = time.perf_counter() - started
    record = meter.cost().as_record()
    hours = recording["duration_s"] / 3600
    cpu_s = sum(s["cpu_s"] for s in record["stages"].values())
    return {
        **record,
        "device": meter.device,
        "wall_s": round(wall_s, 2),
        "words": sum(len(s.words) for s in transcript.segments),
        "wh_per_audio_hour": round(record["energy_wh"] / hours, 4),
        "cpu_s_per_audio_hour": round(cpu_s / hours, 1),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def rapl_state() -> str:
    zones = sorted(RAPL_ROOT.glob("intel-rapl:*")) if RAPL_ROOT.is_dir() else []
    if not zones:
        return f"no RAPL zones under {RAPL_ROOT}"
    readable = CostMeter("cpu").measured
    return f"{len(zones)} zones under {RAPL_ROOT}, " + ("readable" if readable else "not readable by this process")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def render_section(results: dict) -> str:
    machine, rec, settings = results["machine"], results["recording"], results["settings"]
    load = results["load_average"]
    lines = [
        SECTION_HEADING,
        "",
        f"Run {results['date_utc']} on {machine['cpu_model_cpuinfo']} (the model name /proc/cpuinfo gives; "
        f"{machine['cores']} cores, {machine['ram_gib']} GiB RAM), {machine['os']}; Python {machine['python']}, "
        f"faster-whisper {results['versions']['faster-whisper']}, CTranslate2 {results['versions']['ctranslate2']}. "
        f"Model `{settings['model']}` on {results['runs'][0]['device']}, {settings['cpu_threads']} CPU threads; "
        f"a {rec['duration_s'] / 60:g}-minute recording ({rec['clips']} clips of real and synthetic Swedish speech "
        f"with pauses). Load average {' / '.join(f'{v:g}' for v in load['start'])} (1, 5, 15 min) at the start, "
        f"{' / '.join(f'{v:g}' for v in load['end'])} at the end. RAPL: {results['rapl']}.",
        "",
        "| run | energy (Wh) | source | Wh per audio hour | CPU s per audio hour | load_model CPU s | decode CPU s "
        "| transcribe CPU s / wall s | store CPU s | words |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, run in enumerate(results["runs"], 1):
        stages = run["stages"]

        def cpu(name: str, stages: dict = stages) -> str:
            return f"{stages[name]['cpu_s']:.2f}" if name in stages else "-"

        transcribe = stages.get("transcribe", {"cpu_s": 0.0, "wall_s": 0.0})
        lines.append(
            f"| {i} | {run['energy_wh']:.4f} | {run['energy_source']} | {run['wh_per_audio_hour']:.3f} "
            f"| {run['cpu_s_per_audio_hour']:.0f} | {cpu('load_model')} | {cpu('decode')} "
            f"| {transcribe['cpu_s']:.1f} / {transcribe['wall_s']:.1f} | {cpu('store')} | {run['words']} |"
        )
    busy = max(load["start"][0], load["end"][0]) > (machine["cores"] or 1)
    if busy:
        lines += [
            "",
            "The machine was busy (load average above its core count: other work shared the cores), so wall times "
            "are longer than on an idle machine, and CPU seconds somewhat higher too: CTranslate2's threads spin while "
            "they wait for a core, which counts as CPU time.",
        ]
    if len(results["runs"]) > 1:
        lines += [
            "",
            "Runs of the same recording differ: windows that fail Whisper's quality checks are decoded again at "
            "temperatures above 0, which samples, so the work (and the word count) varies; the first run also loads "
            "the model, later runs find it loaded, as a warm worker does.",
        ]
    lines += [
        "",
        f"The figure is `estimated` when this process cannot read RAPL: CPU seconds x "
        f"{settings['energy_cpu_watts_per_core']:g} W per busy core (SWESCRIBE_ENERGY_CPU_WATTS_PER_CORE), so it "
        "scales with that setting. The estimate counts the processor's draw for the CPU time the job used and "
        "nothing else: not the idle draw of the machine, memory, disks, fans, power supply losses or the data "
        "centre's overhead (PUE). A `measured_rapl` figure counts the whole processor package while the stages ran, "
        "other processes and idle draw included.",
        "",
        *DEFAULTS_NOTE,
        "",
        "Reproduce (from the repository root, with the project's venv):",
        "",
        "```sh",
        "python bench/energy/run.py   # --minutes 5 --repeat 1; results in bench/energy/results.json",
        "```",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
