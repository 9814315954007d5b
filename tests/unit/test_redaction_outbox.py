"""A folder with redact_audio gets <name>.redacted.flac in its outbox beside the transcript."""

from __future__ import annotations

from tests.unit.test_ingest_runner import drop, env, ingester, listing, run_job, take_all  # noqa: F401 - the env fixture
from workers.intake.options import JobOptions
from workers.store import jobs


def test_the_toned_recording_goes_to_the_outbox(env):  # noqa: F811
    sessions, storage, layout, sent = env
    drop(env, "samtal.flac")
    ing = ingester(env, JobOptions(redact_audio=True))
    take_all(ing)
    job_id = sent[0]
    assert jobs.get_job(sessions, job_id).options == {"redact_audio": True}
    run_job(env, job_id)
    storage.save_bytes(jobs.redacted_audio_key(job_id), b"fLaC-toned")
    ing.poll()
    assert "samtal.redacted.flac" in listing(layout.outbox)
    assert (layout.outbox / "samtal.redacted.flac").read_bytes() == b"fLaC-toned"
    assert listing(layout.done) == ["samtal.flac"]
