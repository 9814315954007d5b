"""Diarization benchmark: speed against recognition on the same file, memory, DER.

One run measures, on this machine (the CPU unless torch sees a GPU), with the offline models
(whisper-base-offline, pyannote-offline):

A. Long recordings (--minutes, default 10 and 60) built at run time by make_audio.py from the
   SYNTHETIC conversations (4 espeak-ng voices), with RTTM ground truth. Each is run once
   through the real CLI in its own process:
       swescribe transcribe FILE --diarize --format json --format rttm --out DIR --no-progress
   Reported: wall time, peak RSS of that process (recognition and diarization together), the
   seconds of the transcribe and diarize stages from the JSON's timings, both real-time factors,
   the number of speakers found and the DER of the RTTM against the ground truth.
B. DER on each fixture conversation (2, 3 and 4 voices), without and with the number of
   speakers given, diarized in this process after the long runs.

Targets, printed as PASS/FAIL: diarization takes no longer than recognition on the same file;
peak RSS for 60 minutes below 3 GB. The exit code is 0 whatever the targets say; 1 only when a
run itself failed.

Results go to --results (JSON) and to the "## Diarization (bench/diarization)" section of
docs/benchmarks.md (--docs). `make bench-diarization` runs the defaults (about 40 minutes on
2 CPU cores); a quick smoke run:

    python bench/diarization/run.py --minutes 1 --results /tmp/d.json --docs /tmp/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench" / "asr")]

import report  # noqa: E402  (bench/asr: machine description, Markdown section replacement)
from measure import run_child  # noqa: E402

SECTION_HEADING = "## Diarization (bench/diarization)"
TARGET_PEAK_RSS_MB = 3072.0
TARGET_PEAK_MINUTES = 60
CPU_THREADS = 2


def log(message: str) -> None:
    print(f"[bench/diarization] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    date_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SWESCRIBE_ASR_CPU_THREADS": str(CPU_THREADS),
        "SWESCRIBE_DIARIZATION_CPU_THREADS": str(CPU_THREADS),
        "SWESCRIBE_DATA_DIR": str(work / "data"),
    }
    built = run_child(
        [sys.executable, str(HERE / "make_audio.py"), "--work-dir", str(work / "audio"), "--minutes", args.minutes],
        env,
        REPO,
        work / "make_audio.log",
        log,
    )
    if built.returncode != 0:
        log(f"FAILED: make_audio.py exited {built.returncode}; see {work / 'make_audio.log'}")
        return 1
    recordings = json.loads((work / "audio" / "audio.json").read_text())
    long_runs = []
    for recording in recordings:
        log(f"{recording['name']}: swescribe transcribe --diarize ...")
        measured = measure_long(recording, env, work)
        if measured is None:
            return 1
        long_runs.append(measured)
    log("fixture conversations ...")
    fixtures = fixture_der()
    results = {
        "benchmark": "diarization",
        "date_utc": date_utc,
        "command": "python bench/diarization/run.py " + shlex.join(argv),
        "machine": report.machine_info(),
        "load_average_at_end": os.getloadavg(),
        "cpu_threads": CPU_THREADS,
        "long": long_runs,
        "fixtures": fixtures,
        "targets": targets(long_runs),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2), encoding="utf-8")
    update_docs(args.docs, render_section(results))
    for target in results["targets"]:
        log(f"{target['name']}: {target['measured']} -> {'PASS' if target['passed'] else 'FAIL'}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="10,60", help="lengths of the long recordings, comma-separated")
    parser.add_argument("--work-dir", type=Path, default=REPO / "bench" / "results" / "diarization")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results" / "diarization.json")
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    return parser.parse_args(argv)


def measure_long(recording: dict, env: dict, work: Path) -> dict | None:
    from workers.evaluation.diarization import diarization_error, read_rttm

    out = work / "out"
    cmd = [
        sys.executable,
        "-m",
        "workers.commands.cli",
        "transcribe",
        recording["audio"],
        "--diarize",
        "--format",
        "json",
        "--format",
        "rttm",
        "--out",
        str(out),
        "--no-progress",
    ]
    child = run_child(cmd, env, REPO, work / f"{recording['name']}.log", log)
    if child.returncode != 0:
        log(f"FAILED: swescribe exited {child.returncode}; see {work / (recording['name'] + '.log')}")
        return None
    transcript = json.loads((out / f"{recording['name']}.json").read_text())
    timings = transcript["timings_s"]
    der = diarization_error(read_rttm(recording["rttm"]), read_rttm(out / f"{recording['name']}.rttm"))
    duration = recording["duration_s"]
    return {
        "name": recording["name"],
        "minutes": recording["minutes"],
        "duration_s": duration,
        "wall_s": round(child.wall_s, 1),
        "cpu_s": round(child.cpu_s, 1),
        "peak_rss_mb": round(child.peak_rss_mb),
        "transcribe_s": timings.get("transcribe"),
        "diarize_s": timings.get("diarize"),
        "transcribe_rtf": round(timings["transcribe"] / duration, 4),
        "diarize_rtf": round(timings["diarize"] / duration, 4),
        "speakers_found": len(transcript["speakers"]),
        "speakers_reference": der.reference_speakers,
        "der": der.der,
        "missed_s": der.missed_s,
        "false_alarm_s": der.false_alarm_s,
        "confusion_s": der.confusion_s,
    }


def fixture_der() -> list[dict]:
    """Each fixture conversation diarized without and with its number of speakers."""
    from workers.evaluation.diarization import diarization_error, read_rttm
    from workers.pipeline.diarization_model import load_diarizer, resolve_diarizer
    from workers.pipeline.diarize import DiarizeOptions, diarize
    from workers.transcript.audio import decode_audio

    diarizer = load_diarizer(resolve_diarizer("pyannote-offline"), device="auto", cpu_threads=CPU_THREADS)
    folder = REPO / "audio_fixtures" / "conversations"
    rows = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        audio, reference = decode_audio(folder / entry["file"]), read_rttm(folder / entry["rttm"])
        for given in (None, entry["num_speakers"]):
            found = diarize(diarizer, audio, DiarizeOptions(num_speakers=given))
            der = diarization_error(reference, found.turns)
            rows.append(
                {
                    "id": entry["id"],
                    "voices": entry["num_speakers"],
                    "num_speakers_given": given,
                    "speakers_found": len(found.speakers),
                    "der": der.der,
                    "seconds": found.seconds,
                    "duration_s": entry["duration_s"],
                }
            )
    return rows


def targets(long_runs: list[dict]) -> list[dict]:
    out = [
        {
            "name": f"diarization <= recognition, {run['minutes']} min",
            "measured": f"{run['diarize_s']:.1f} s vs {run['transcribe_s']:.1f} s",
            "passed": run["diarize_s"] <= run["transcribe_s"],
        }
        for run in long_runs
    ]
    out += [
        {
            "name": f"peak RSS < {TARGET_PEAK_RSS_MB:.0f} MB, {run['minutes']} min",
            "measured": f"{run['peak_rss_mb']} MB",
            "passed": run["peak_rss_mb"] < TARGET_PEAK_RSS_MB,
        }
        for run in long_runs
        if run["minutes"] >= TARGET_PEAK_MINUTES
    ]
    return out


def render_section(results: dict) -> str:
    m = results["machine"]
    load = ", ".join(f"{x:.1f}" for x in results["load_average_at_end"])
    lines = [
        SECTION_HEADING,
        "",
        f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {m['ram_gib']} GiB RAM), {m['os']}; "
        f"CPU only, {results['cpu_threads']} threads for recognition and for diarization; load average at the end: {load}. "
        f"Command: `{results['command']}`. Models: whisper-base-offline (int8) and pyannote-offline "
        "(segmentation-3.0 + CAM++). All speech here is SYNTHETIC (espeak-ng voices), not human voices.",
        "",
        "### Long recordings: `swescribe transcribe --diarize` (one process: recognition, then diarization)",
        "",
        "| audio | wall | peak RSS | recognition | diarization | RTF rec. | RTF diar. | speakers found / reference | DER |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['minutes']} min | {r['wall_s']:.0f} s | {r['peak_rss_mb']} MB | {r['transcribe_s']:.1f} s | {r['diarize_s']:.1f} s | "
        f"{r['transcribe_rtf']:.3f} | {r['diarize_rtf']:.3f} | {r['speakers_found']} / {r['speakers_reference']} | {r['der']:.3f} |"
        for r in results["long"]
    ]
    lines += [
        "",
        "### Fixture conversations (DER, collar 0.25 s)",
        "",
        "| conversation | voices | speakers given | found | DER | diarization time |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['id']} | {r['voices']} | {r['num_speakers_given'] or '-'} | {r['speakers_found']} | {r['der']:.3f} | "
        f"{r['seconds']:.1f} s for {r['duration_s']:.0f} s |"
        for r in results["fixtures"]
    ]
    lines += ["", "### Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {t['name']} | {t['measured']} | {'PASS' if t['passed'] else 'FAIL'} |" for t in results["targets"]]
    return "\n".join(lines) + "\n"


def update_docs(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else report.DOCS_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.replace_section(text, SECTION_HEADING, section), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
