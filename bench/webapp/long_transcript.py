"""How fast the transcript page of a 2-hour recording becomes usable in headless Chromium.

A job with a synthetic two-hour, two-speaker transcript (about 20,000 words, every word timed)
and two hours of stored audio (silence, FLAC) is written straight into a fresh SQLite database;
`swescribe api` serves it on 127.0.0.1; Debian's chromium (through Playwright) signs in and
opens the transcript page. "Usable" is measured as a person uses it: from the request of the page
until a click on the last word has moved the player to that word's time. Also recorded: the
page's size and the browser's own timings (DOM interactive, load). Prints a JSON report and
writes it to --out.

    python bench/webapp/long_transcript.py --out bench/webapp/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from workers.store import jobs  # noqa: E402
from workers.store.db import new_id, session_factory  # noqa: E402
from workers.store.keys import DEFAULT_TENANT, Role, create_key  # noqa: E402
from workers.store.migrate import upgrade  # noqa: E402
from workers.store.storage import LocalStorage  # noqa: E402
from workers.transcript.formats import to_json  # noqa: E402
from workers.transcript.types import ModelInfo, Segment, Speaker, Transcript, Word  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DURATION_S = 2 * 3600.0
WORDS = ["och", "sedan", "så", "tittade", "vi", "på", "ansökan", "om", "ekonomiskt", "bistånd", "för", "januari", "månad", "igen"]


def long_transcript(duration_s: float = DURATION_S, words_per_segment: int = 12, segment_s: float = 4.3) -> Transcript:
    """Two speakers taking turns every segment; about 2.8 words a second, as in a meeting."""
    segments = []
    start, index = 0.0, 0
    while start + segment_s <= duration_s:
        speaker = f"Talare {index % 2 + 1}"
        step = segment_s / words_per_segment
        words = tuple(
            Word(round(start + i * step, 3), round(start + (i + 0.8) * step, 3), WORDS[(index + i) % len(WORDS)], 0.9, speaker)
            for i in range(words_per_segment)
        )
        text = " ".join(w.text for w in words)
        segments.append(Segment(index, words[0].start_s, words[-1].end_s, text, words, -0.2, 0.01, speaker))
        start, index = start + segment_s + 0.2, index + 1
    talk = sum(s.end_s - s.start_s for s in segments) / 2
    return Transcript(
        language="sv",
        language_probability=1.0,
        duration_s=duration_s,
        segments=tuple(segments),
        model=ModelInfo("synthetic", None, "cpu", "int8"),
        speakers=(Speaker("Talare 1", talk), Speaker("Talare 2", talk)),
    )


def silent_flac(path: Path, duration_s: float, rate: int = 8000) -> None:
    """Two hours of silence, written a minute at a time."""
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, format="FLAC", subtype="PCM_16") as f:
        minute = np.zeros(rate * 60, dtype=np.int16)
        for _ in range(int(duration_s // 60)):
            f.write(minute)


def seed(data_dir: Path, database_url: str) -> tuple[str, str, int]:
    """A completed job with the long transcript; returns (job id, API key, word count)."""
    upgrade(database_url)
    sessions = session_factory(database_url)
    storage = LocalStorage(data_dir / "storage")
    record, key = create_key(sessions, "bench", DEFAULT_TENANT, Role.member)
    job_id = new_id()
    audio = data_dir / "samtal.flac"
    silent_flac(audio, DURATION_S)
    audio_key = f"{jobs.job_prefix(job_id)}/audio.flac"
    stored = storage.save_bytes(audio_key, audio.read_bytes())
    jobs.create_job(
        sessions,
        jobs.NewJob(
            owner=record.id,
            filename="två timmar.flac",
            audio_key=audio_key,
            audio_sha256=stored.sha256,
            audio_size_bytes=stored.size_bytes,
            duration_s=DURATION_S,
            options={},
            tenant_id=DEFAULT_TENANT,
        ),
        job_id,
    )
    assert jobs.start_attempt(sessions, job_id) is not None
    transcript = long_transcript()
    transcript_key = jobs.transcript_key(job_id)
    storage.save_bytes(transcript_key, to_json(transcript).encode("utf-8"))
    assert jobs.complete_job(sessions, job_id, transcript_key, 60.0, {"transcribe": 60.0})
    return job_id, key, sum(len(s.words) for s in transcript.segments)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"swescribe api exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("swescribe api did not answer within a minute")


def measure(base_url: str, job_id: str, key: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(base_url=base_url)
            page = context.new_page()
            page.goto("/sign-in")
            page.fill("#key", key)
            page.press("#key", "Enter")
            page.wait_for_url("**/jobs")
            for _ in range(runs):
                started = time.perf_counter()
                response = page.goto(f"/jobs/{job_id}", wait_until="commit")
                last = page.locator("#text .w").last
                last.wait_for(state="attached", timeout=60_000)
                target = float(last.get_attribute("data-s") or "nan")
                # The player knows its duration once the metadata has arrived; a click before that
                # cannot seek, so this wait is part of what a person waits for.
                while not page.evaluate("document.getElementById('player').readyState >= 1"):
                    time.sleep(0.01)
                last.click()
                while abs(page.evaluate("document.getElementById('player').currentTime") - target) > 1.0:
                    assert time.perf_counter() - started < 60, "the click never moved the player"
                    time.sleep(0.01)
                usable_s = time.perf_counter() - started
                timing = page.evaluate(
                    "(() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return {dom_interactive_ms: n.domInteractive, load_ms: n.loadEventEnd,"
                    " transfer_bytes: n.transferSize, decoded_bytes: n.decodedBodySize}; })()"
                )
                words = page.evaluate("document.querySelectorAll('#text .w').length")
                results.append({"usable_s": round(usable_s, 3), "words_on_page": words, "status": response.status, **timing})
        finally:
            browser.close()
    return {
        "runs": results,
        "usable_s_median": statistics.median(r["usable_s"] for r in results),
        "usable_s_max": max(r["usable_s"] for r in results),
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "webapp" / "results.json")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        database_url = f"sqlite:///{data_dir / 'swescribe.db'}"
        job_id, key, word_count = seed(data_dir, database_url)
        port = free_port()
        env = {
            **os.environ,
            "SWESCRIBE_DATA_DIR": str(data_dir),
            "SWESCRIBE_DATABASE_URL": database_url,
            "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing is queued here
        }
        api = subprocess.Popen(
            [sys.executable, "-m", "workers.commands.cli", "api", "--port", str(port), "--no-migrate"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_healthy(base_url, api)
            figures = measure(base_url, job_id, key, args.runs)
        finally:
            api.terminate()
            api.wait(timeout=30)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "recording_s": DURATION_S,
        "words": word_count,
        **figures,
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
