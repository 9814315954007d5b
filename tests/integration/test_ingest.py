"""Folder ingestion end to end: `swescribe ingest` as a process against a real Redis, a real
gpu worker and a real database (SQLite and PostgreSQL), on a real folder."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from workers.ingest.submit import owner_for
from workers.store.db import Job, session_factory

from .ingest_clips import make_clips
from .stack import REPO_ROOT, make_stack, spawn_up

pytestmark = [pytest.mark.integration, pytest.mark.model]

SYNTHETIC = sorted((REPO_ROOT / "audio_fixtures" / "synthetic").glob("sv_clean_*.flac"))
FORMATS = (".json", ".txt", ".plain.txt", ".srt", ".vtt", ".docx")
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def ingest_stack(database_url, tmp_path_factory, model_cache):
    """Redis + one gpu worker (batched decoding, as for a queue of short recordings)."""
    service = make_stack(tmp_path_factory.mktemp("ingest-stack"), database_url, model_cache, asr_batch_size="8")
    try:
        service.start_worker()
        yield service
    finally:
        service.stop()


def ingest(stack, folder: Path, *args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "ingest", str(folder), "--settle-s", "0.3", "--no-progress", *args],
        env=stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_ingest(stack, folder: Path, *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.commands.cli", "ingest", str(folder), "--no-progress", *args],
        env=stack.env,
        cwd=REPO_ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def folder_jobs(stack, folder: Path) -> list[Job]:
    sessions = session_factory(stack.env["SWESCRIBE_DATABASE_URL"])
    with sessions() as session:
        return list(session.scalars(select(Job).where(Job.owner == owner_for(folder.resolve()))))


def names(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_in_progress(folder: Path) -> None:
    assert [n for n in names(folder / ".processing") if n != ".lock"] == []
    leftovers = [p for sub in ("outbox", "done", "failed") for p in (folder / sub).iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporaries from atomic writes


def test_a_folder_of_recordings_becomes_transcripts(ingest_stack, tmp_path):
    folder = tmp_path / "ärenden"
    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    # diarize and summarize are passed on as job options (false here: this test is about the folder).
    (folder / "swescribe.toml").write_text('language = "sv"\ndiarize = false\nsummarize = false\nhotwords = "Lindqvist"\n')
    odd = ["möte på förmiddagen å ä ö.flac", "två  mellanslag & (parentes) #1.flac", "citat'n;semikolon, komma.flac"]
    for name, source in zip(odd, SYNTHETIC):
        (inbox / name).write_bytes(source.read_bytes())
    (inbox / "samma innehåll igen.flac").write_bytes(SYNTHETIC[0].read_bytes())  # a duplicate
    (inbox / "anteckningar.wav").write_text("det här är inte ljud")
    (inbox / "halvfärdig.flac.part").write_bytes(SYNTHETIC[3].read_bytes())
    (inbox / ".dold.flac").write_bytes(SYNTHETIC[4].read_bytes())
    outside = tmp_path / "utanför.flac"
    outside.write_bytes(SYNTHETIC[5].read_bytes())
    (inbox / "länk.flac").symlink_to(outside)
    (inbox / "länk ut ..flac").symlink_to("../../utanför.flac")

    result = ingest(ingest_stack, folder)

    assert result.returncode == 1, result.stderr  # some files failed
    assert "4 done, 3 failed" in result.stderr, result.stderr
    good = [*odd, "samma innehåll igen.flac"]
    assert names(folder / "done") == sorted(good)
    assert names(folder / "outbox") == sorted(Path(n).stem + f for n in good for f in FORMATS)
    for name in good:
        stem = Path(name).stem
        transcript = json.loads((folder / "outbox" / f"{stem}.json").read_text())
        assert transcript["language"] == "sv" and transcript["text"].strip()
        assert (folder / "outbox" / f"{stem}.plain.txt").read_text().strip() == transcript["text"].strip()
        assert (folder / "outbox" / f"{stem}.txt").read_text().startswith("[00:0")
        assert (folder / "outbox" / f"{stem}.vtt").read_text().startswith("WEBVTT")
        assert "-->" in (folder / "outbox" / f"{stem}.srt").read_text()
        assert not (folder / "outbox" / f"{stem}.summary.md").exists()  # no summary in these jobs
    assert sha(folder / "done" / odd[0]) == sha(SYNTHETIC[0])

    failed = names(folder / "failed")
    assert failed == sorted(
        ["anteckningar.wav", "anteckningar.error.txt", "länk.flac", "länk.error.txt", "länk ut ..flac", "länk ut ..error.txt"]
    )
    assert "cannot decode audio" in (folder / "failed" / "anteckningar.error.txt").read_text()
    assert "symbolic link" in (folder / "failed" / "länk.error.txt").read_text()
    assert (folder / "failed" / "länk.flac").is_symlink()  # the link itself moved, its target untouched
    assert sha(outside) == sha(SYNTHETIC[5]) and names(tmp_path) == ["utanför.flac", "ärenden"]

    assert names(inbox) == sorted([".dold.flac", "halvfärdig.flac.part"])  # never taken
    assert_nothing_in_progress(folder)

    jobs = folder_jobs(ingest_stack, folder)
    assert len(jobs) == 3  # the duplicate shares its job
    assert all(
        j.status == "completed" and j.options == {"language": "sv", "diarize": False, "summarize": False, "hotwords": "Lindqvist"}
        for j in jobs
    )
    assert {j.filename for j in jobs} <= set(good)

    # The same content dropped again later: no new job, a second result under a free name.
    (inbox / odd[1]).write_bytes(SYNTHETIC[1].read_bytes())
    again = ingest(ingest_stack, folder)
    assert again.returncode == 0, again.stderr
    assert len(folder_jobs(ingest_stack, folder)) == 3
    stem = Path(odd[1]).stem
    assert (folder / "outbox" / f"{stem} (2).json").exists() and (folder / "done" / f"{stem} (2).flac").exists()
    assert (folder / "outbox" / f"{stem}.json").read_text() == (folder / "outbox" / f"{stem} (2).json").read_text()


def test_unusable_folders_and_options_are_refused_with_a_reason(ingest_stack, tmp_path):
    missing = ingest(ingest_stack, tmp_path / "saknas", timeout=120)
    assert missing.returncode == 2 and "no such folder" in missing.stderr

    folder = tmp_path / "mapp"
    (folder / "inbox").mkdir(parents=True)
    (folder / "inbox" / "a.flac").write_bytes(SYNTHETIC[0].read_bytes())
    for config, reason in [
        ('colour = "blå"', "unknown key 'colour'"),
        ('language = "klingon"', "unknown language"),
        ('summarize = "ja"', "summarize must be true or false"),
        ('model = "kb-whisper-large"', "not offered here"),
        ('webhook_url = "http://169.254.169.254/latest"', "webhook_url"),
    ]:
        (folder / "swescribe.toml").write_text(config)
        result = ingest(ingest_stack, folder, timeout=120)
        assert result.returncode == 2 and reason in result.stderr, (config, result.stderr)
    assert names(folder / "inbox") == ["a.flac"]  # nothing taken
    assert folder_jobs(ingest_stack, folder) == []

    up = subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "up", "--ingest-dir", str(tmp_path / "saknas")],
        env=ingest_stack.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 2 and "no such folder" in up.stderr


def test_killed_mid_batch_and_restarted_every_file_is_handled_once(ingest_stack, tmp_path):
    """30 short recordings; the ingest process is SIGKILLed twice mid-batch and restarted."""
    folder = tmp_path / "inkorg"
    clips = make_clips(SYNTHETIC, folder / "inbox", 30, min_s=1.5, max_s=3.0, name="del {i:02d} – å.wav")
    (folder / "inbox" / "trasig.wav").write_bytes(b"RIFF\x00\x00")
    expected = {p.name: sha(p) for p, _ in clips} | {"trasig.wav": sha(folder / "inbox" / "trasig.wav")}
    log = tmp_path / "ingest.log"

    for wait_for_done in (0, 5):
        process = start_ingest(ingest_stack, folder, "--settle-s", "0.2", log=log)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            claimed = [n for n in names(folder / ".processing") if n != ".lock"] if (folder / ".processing").exists() else []
            if claimed and len(names(folder / "done")) >= wait_for_done:
                break
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()[-3000:]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert len(names(folder / "done")) < 30  # the kills did land mid-batch

    failed_before = (folder / "failed" / "trasig.wav").exists()
    final = ingest(ingest_stack, folder, "--settle-s", "0.2")
    # Exit 1 only when this run itself had a failure.
    assert final.returncode == (0 if failed_before else 1), final.stderr + log.read_text()[-3000:]

    done, failed = names(folder / "done"), names(folder / "failed")
    assert done == sorted(n for n in expected if n != "trasig.wav")
    assert failed == ["trasig.error.txt", "trasig.wav"]
    assert {n: sha(folder / "done" / n) for n in done} == {n: h for n, h in expected.items() if n in done}
    assert names(folder / "outbox") == sorted(Path(n).stem + f for n in done for f in FORMATS)  # none twice
    assert names(folder / "inbox") == []
    assert_nothing_in_progress(folder)
    jobs = folder_jobs(ingest_stack, folder)
    assert len(jobs) == 30 and all(j.status == "completed" for j in jobs)
    assert len({j.audio_sha256 for j in jobs}) == 30


def test_the_watcher_takes_a_slowly_written_file_only_once_it_settled(ingest_stack, tmp_path):
    folder = tmp_path / "bevakad"
    (folder / "inbox").mkdir(parents=True)
    log = tmp_path / "watch.log"
    watcher = start_ingest(ingest_stack, folder, "--watch", "--settle-s", "1.5", log=log)
    try:
        data = SYNTHETIC[2].read_bytes()
        target = folder / "inbox" / "långsam uppladdning.flac"
        chunk = len(data) // 8 + 1
        with open(target, "wb") as f:
            for start in range(0, len(data), chunk):
                f.write(data[start : start + chunk])
                f.flush()
                time.sleep(0.5)  # slower than the poll interval, faster than the settle time
                assert target.exists(), "taken while still being written"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (folder / "done" / target.name).exists():
            assert watcher.poll() is None, log.read_text()
            time.sleep(0.2)
        assert sha(folder / "done" / target.name) == hashlib.sha256(data).hexdigest()
        assert json.loads((folder / "outbox" / "långsam uppladdning.json").read_text())["text"].strip()
    finally:
        os.killpg(watcher.pid, signal.SIGTERM)
        assert watcher.wait(timeout=30) == 0, log.read_text()
    assert "långsam uppladdning.flac -> done/" in log.read_text()
    assert len(folder_jobs(ingest_stack, folder)) == 1


def test_up_runs_the_watcher_for_its_ingest_folder(tmp_path, model_cache):
    from workers.local.ports import free_port

    folder = tmp_path / "uppe"
    (folder / "inbox").mkdir(parents=True)
    port = free_port()
    env = {
        **os.environ,
        "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
        "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
        "SWESCRIBE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "SWESCRIBE_ASR_CPU_THREADS": "2",
        "SWESCRIBE_INGEST_DIR": str(folder),
        "SWESCRIBE_INGEST_SETTLE_S": "0.5",
    }
    env.pop("SWESCRIBE_DATABASE_URL", None)
    log_path = tmp_path / "up.log"
    up = spawn_up(env, port, log_path)
    try:
        (folder / "inbox" / "via up.flac").write_bytes(SYNTHETIC[0].read_bytes())
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (folder / "done" / "via up.flac").exists():
            assert up.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.3)
        assert (folder / "outbox" / "via up.json").exists(), log_path.read_text()[-3000:]
        assert f"watching {folder.resolve() / 'inbox'}" in log_path.read_text()
        os.killpg(up.pid, signal.SIGINT)
        assert up.wait(timeout=60) == 0
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
