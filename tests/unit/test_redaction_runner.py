"""Jobs with redact / redact_audio in the gpu runner (fake pipeline, real SQLite job store and
local storage): what is stored is redacted, the original is stored only when the setting keeps
it, the toned copy of the recording is stored, and nothing stored holds the values."""

from __future__ import annotations

import numpy as np
import pytest

from tests.transcripts import segment, transcript, words
from tests.unit.test_transcription_runner import env, new_job, stored_files  # noqa: F401 - the env fixture
from workers.redaction.audio import flac_bytes
from workers.runners import transcription as runner
from workers.runners.transcription import run_transcription_job
from workers.store import jobs
from workers.transcript.audio import decode_audio
from workers.transcript.formats import transcript_from_json

SECRET = transcript(
    segment(0, words((0.0, 0.4, "Jag"), (0.5, 0.9, "heter"), (1.0, 1.5, "Karin"), (1.6, 2.2, "Sjöberg."))),
    segment(1, words((2.5, 3.0, "Personnummer"), (3.1, 4.0, "850312-3310."))),
    segment(2, words((4.5, 5.0, "Ring"), (5.1, 6.5, "070-123"), (6.6, 7.0, "45"), (7.1, 7.5, "67."))),
    duration_s=8.0,
)
VALUES = ("Karin", "Sjöberg", "850312", "3310", "070-123")


@pytest.fixture
def secret_pipeline(env, monkeypatch):  # noqa: F811
    monkeypatch.setattr(runner, "transcribe_file", lambda *args, **kwargs: SECRET)
    return env


def all_stored_text(environment) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in environment.root.rglob("*") if p.is_file())


def test_a_redacted_job_stores_only_the_redacted_transcript(env, secret_pipeline):  # noqa: F811
    job_id = new_job(env, {"redact": True})
    run_transcription_job(job_id, env.ctx)

    job = jobs.get_job(env.sessions, job_id)
    assert job.status == "completed" and "redact" in job.timings_s
    stored = transcript_from_json(env.storage.read_bytes(job.transcript_key).decode("utf-8"))
    assert stored.text == "Jag heter [NAMN]. Personnummer [PERSONNUMMER]. Ring [TELEFON]."
    assert [e.type for e in stored.redaction.entities] == ["NAMN", "PERSONNUMMER", "TELEFON"]
    assert stored_files(env, job_id) == ["audio.wav", "transcript.json"]
    text = all_stored_text(env) + "\n".join(d for d in (env.deliveries or []))
    assert not any(value in text for value in VALUES)


def test_the_original_is_kept_only_when_the_setting_says_so(env, secret_pipeline, monkeypatch):  # noqa: F811
    monkeypatch.setattr(env.ctx.settings, "redaction_keep_original", True)
    job_id = new_job(env, {"redact": True})
    run_transcription_job(job_id, env.ctx)

    original = transcript_from_json(env.storage.read_bytes(jobs.original_transcript_key(job_id)).decode("utf-8"))
    assert original.redaction is None and "850312-3310." in original.text
    job = jobs.get_job(env.sessions, job_id)
    assert "[PERSONNUMMER]" in env.storage.read_bytes(job.transcript_key).decode("utf-8")


def test_redact_audio_stores_a_toned_copy_of_the_recording(env, secret_pipeline):  # noqa: F811
    rate = 16_000
    job_id = new_job(env, {"redact_audio": True})
    # A real recording for the copy: 8 s of a steady 200 Hz "voice".
    t = np.arange(8 * rate) / rate
    env.storage.save_bytes(
        jobs.get_job(env.sessions, job_id).audio_key, flac_bytes((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate)
    )
    run_transcription_job(job_id, env.ctx)

    job = jobs.get_job(env.sessions, job_id)
    assert job.status == "completed", job.error
    assert "[TELEFON]" in env.storage.read_bytes(job.transcript_key).decode("utf-8")
    with env.storage.local_copy(jobs.redacted_audio_key(job_id)) as path:
        copy = decode_audio(path).samples
    with env.storage.local_copy(job.audio_key) as path:
        original = decode_audio(path).samples

    def differs(start_s: float, end_s: float) -> bool:
        a, b = int(start_s * rate), int(end_s * rate)
        return not np.allclose(copy[a:b], original[a:b], atol=0.01)

    # The name (1.0-2.2 s), the personnummer (3.1-4.0 s) and the phone number (5.1-7.5 s) are toned ...
    assert differs(1.1, 2.1) and differs(3.2, 3.9) and differs(5.2, 7.4)
    # ... and the words around them are untouched.
    assert not differs(0.0, 0.8) and not differs(2.5, 2.9) and not differs(4.4, 4.9)
