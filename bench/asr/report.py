"""The machine description and the Markdown section written into docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

SECTION_HEADING = "## ASR (bench/asr)"
DOCS_HEADER = (
    "# Benchmarks\n\n"
    "Results come from the scripts under `bench/`; each section names the machine it ran on and the date (UTC) of the run.\n"
)


def machine_info() -> dict:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        match = re.search(r"^Model name:\s*(.+)$", out, re.MULTILINE)
        if match:
            return match.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        match = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    except OSError:
        return None
    return round(int(match.group(1)) / 1024**2, 1) if match else None


def update_docs(path: Path, section: str) -> None:
    """Replace the ASR section of `path` (or append it); the rest of the file is left as it is."""
    text = path.read_text(encoding="utf-8") if path.is_file() else DOCS_HEADER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(text, SECTION_HEADING, section), encoding="utf-8")


def replace_section(text: str, heading: str, section: str) -> str:
    """`section` (starting with `heading`) in place of the old one, which runs to the next # or ## heading."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"#{1,2} ", lines[i])), len(lines))
    after = "".join(lines[end:])
    return "".join(lines[:start]) + section.rstrip("\n") + "\n" + ("\n" + after if after else "")


def render_section(results: dict) -> str:
    parts = [SECTION_HEADING, "", _intro(results)]
    if results["long"]:
        parts += ["", "### Long recordings: `swescribe transcribe` vs plain faster-whisper", "", *_long_table(results["long"])]
    if results["short"]:
        parts += [
            "",
            f"### {results['short']['clips']} short clips (3-8 s) in one `swescribe transcribe` call",
            "",
            *_short_table(results["short"]),
        ]
    parts += ["", "### Targets", "", *_targets_table(results["targets"]), "", *_notes(results)]
    return "\n".join(parts) + "\n"


def _intro(results: dict) -> str:
    m, model, s = results["machine"], results["model"], results["settings"]
    ram = f"{m['ram_gib']} GiB RAM" if m["ram_gib"] else "RAM unknown"
    return (
        f"Run {results['date_utc']} on {m['cpu_model']} ({m['cores']} cores, {ram}), {m['os']}; "
        f"Python {m['python']}, faster-whisper {model['faster_whisper']}, CTranslate2 {model['ctranslate2']}. "
        f"Model `{model['name']}` (revision `{model['revision']}`) on {model['device']}/{model['compute_type']}, "
        f"{s['cpu_threads']} CPU threads; best of {s['repeat']} run(s) per row."
    )


def _long_table(long: list[dict]) -> list[str]:
    rows = [
        "| recording | tool | wall (s) | RTF | CPU (s) | in-process transcription (s) | peak RSS (MiB) | words | WER | swescribe / plain |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rec in long:
        label = f"{rec['minutes']:g} min"
        for tool, name in (("plain", "plain faster-whisper"), ("swescribe", "swescribe CLI")):
            r = rec[tool]
            ratio = f"{rec['ratio']:.3f} ({rec['overhead_pct']:+.1f} %)" if tool == "swescribe" else ""
            rows.append(
                f"| {label} | {name} | {r['wall_s']:.1f} | {r['rtf']:.3f} | {r['cpu_s']:.1f} | {_num(r['work_s'])} | "
                f"{r['peak_rss_mb']:.0f} | {r['words']} | {_pct(r['wer'])} | {ratio} |"
            )
    return rows


def _short_table(short: dict) -> list[str]:
    rows = [
        f"Audio: {short['audio_s']:.0f} s in {short['clips']} files; WER on the {short['real_clips']} clips cut from real speech "
        f"and on the {short['clips'] - short['real_clips']} synthetic ones.",
        "",
        "| mode | wall (s) | RTF | clips/min | peak RSS (MiB) | WER real | WER synthetic | empty transcripts | failed files |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, name in (("sequential", "sequential (`--batch-size 1`)"), ("batched", "batched (`--batch-size 8`)")):
        r = short[mode]
        rows.append(
            f"| {name} | {r['wall_s']:.1f} | {r['rtf']:.3f} | {r['clips_per_min']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{_pct(r['wer_real'])} | {_pct(r['wer_synthetic'])} | {r['empty']} | {r['failed']} |"
        )
    rows += ["", f"Throughput batched vs sequential: **{short['throughput_ratio']:.2f}x**."]
    seq = short["sequential"]
    if seq.get("transcribe_s_per_real_clip") is not None or seq.get("transcribe_s_per_synthetic_clip") is not None:
        rows += [
            "",
            f"Sequential recognition time per clip: real {_num(seq.get('transcribe_s_per_real_clip'), 2)} s, "
            f"synthetic {_num(seq.get('transcribe_s_per_synthetic_clip'), 2)} s (sequential decoding retries "
            "badly recognised windows at higher temperatures; batched decoding does not).",
        ]
    return rows


def _targets_table(targets: list[dict]) -> list[str]:
    rows = ["| target | measured | result |", "|---|---:|---|"]
    rows += [f"| {t['name']} {t['target']} | {t['measured']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in targets]
    return rows


def _notes(results: dict) -> list[str]:
    return [
        "Wall time is the whole child process (start, imports, model load, decoding, writing output), "
        "the same for both tools; RTF = wall / audio duration; peak RSS is the child's `ru_maxrss`. "
        "In-process transcription is the tool's own timer around decoding and recognition; the rest of "
        "the wall time is start-up and model load. The recordings and clips are built at run time from "
        "the real and synthetic Swedish speech clips, with a fixed seed.",
        "",
        "Reproduce (from the repository root, with the project's venv):",
        "",
        "```sh",
        results["command"],
        "```",
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
