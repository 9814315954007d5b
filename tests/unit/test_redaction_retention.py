"""Retention and redaction: the toned copy of a recording goes with the audio, the kept
unredacted transcript with the results."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.test_governance_store import _finished_job
from workers.runners.purge import PurgeOptions, purge
from workers.store import jobs
from workers.store.db import session_factory, utcnow
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage


def _keys(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_the_toned_copy_goes_with_the_audio_and_the_original_with_the_results(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    sessions = session_factory(url)
    storage = LocalStorage(tmp_path / "storage")
    audio_first = _finished_job(sessions, storage, finished_ago=timedelta(hours=200))
    results_first = _finished_job(sessions, storage, finished_ago=timedelta(days=3))
    for job_id in (audio_first, results_first):
        storage.save_bytes(jobs.redacted_audio_key(job_id), b"fLaC")
        storage.save_bytes(jobs.original_transcript_key(job_id), b"{}")

    purge(sessions, storage, PurgeOptions(default_audio_hours=168, default_results_days=30), now=utcnow)
    left = _keys(tmp_path / "storage")
    assert f"jobs/{audio_first}/audio.redacted.flac" not in left and f"jobs/{audio_first}/audio.wav" not in left
    assert f"jobs/{audio_first}/transcript.original.json" in left

    purge(sessions, storage, PurgeOptions(default_audio_hours=10_000, default_results_days=1), now=utcnow)
    left = _keys(tmp_path / "storage")
    assert f"jobs/{results_first}/transcript.original.json" not in left
    assert f"jobs/{results_first}/audio.redacted.flac" in left  # audio: kept as long as the audio
