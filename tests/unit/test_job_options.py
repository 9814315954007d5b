"""JobOptions (every way in validates against it) and submit (every way in creates jobs with it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from tests.integration.stack import scratch_database
from workers.intake.options import JobOptions, OptionsRefused, check_allowed, describe_problems
from workers.intake.submit import (
    MAX_FILENAME_CHARS,
    IdempotencyConflict,
    Intake,
    QueueUnavailable,
    Recording,
    audio_key,
    job_filename,
    remove_job,
    submit,
)
from workers.settings import Settings
from workers.store import jobs
from workers.store.db import JobStatus, SummaryStatus, session_factory
from workers.store.migrate import upgrade
from workers.store.storage import LocalStorage, TooLarge


def problems(data: dict, **kwargs) -> str:
    with pytest.raises(ValidationError) as error:
        JobOptions.model_validate(data, **kwargs)
    return describe_problems(error.value)


def test_form_values_are_parsed_and_stored_as_given():
    options = JobOptions.model_validate({"language": "sv", "diarize": "true", "max_speakers": "3"})
    assert (options.diarize, options.max_speakers, options.speaker_counts) == (True, 3, (None, None, 3))
    assert options.stored() == {"language": "sv", "diarize": True, "max_speakers": 3}
    assert JobOptions.from_stored(options.stored()) == options
    assert JobOptions().stored() == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "blue"}, "unknown option 'colour'"),
        ({"language": "klingon"}, "unknown language 'klingon'"),
        ({"num_speakers": "2"}, "need diarize=true"),
        ({"diarize": "true", "num_speakers": "0"}, "num_speakers must be between 1 and 50"),
        ({"diarize": "true", "min_speakers": "4", "max_speakers": "2"}, "larger than max_speakers"),
        ({"diarize": "true", "num_speakers": "2", "max_speakers": "3"}, "either num_speakers or"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"diarize": "maybe"}, "diarize"),
    ],
)
def test_bad_options_are_refused_with_the_reason(data, message):
    assert message in problems(data)


def test_strict_validation_refuses_what_a_form_would_coerce():
    assert "diarize must be true or false" in problems({"diarize": "yes"}, strict=True)
    assert "num_speakers must be a whole number" in problems({"diarize": True, "num_speakers": "2"}, strict=True)
    spelled = problems({"num_speakers": 2}, strict=True, context={"diarize_spelling": "diarize = true"})
    assert "need diarize = true" in spelled


def test_a_stored_row_that_no_longer_fits_is_a_value_error():
    with pytest.raises(ValueError):
        JobOptions.from_stored({"beam": 5})


def test_the_operators_settings_refuse_models_and_webhook_targets(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(OptionsRefused, match="not offered here") as refused:
        check_allowed(JobOptions(model="not-offered-anywhere"), settings)
    assert refused.value.code == "invalid_option"
    with pytest.raises(OptionsRefused) as unsafe:
        check_allowed(JobOptions(webhook_url="http://127.0.0.1/hook"), settings)
    assert unsafe.value.code == "invalid_webhook_url" and str(unsafe.value).startswith("webhook_url: ")
    check_allowed(JobOptions(language="sv"), settings)  # nothing to refuse


@pytest.fixture(params=["sqlite", "postgres"])
def intake(request, tmp_path):
    # Both databases: PostgreSQL refuses what SQLite takes (NUL in text, over-long values).
    with scratch_database(request.param, tmp_path) as url:
        upgrade(url)
        sent: list[str] = []
        yield (
            Intake(session_factory(url), LocalStorage(tmp_path / "storage"), lambda job_id, _priority: sent.append(job_id)),
            sent,
        )


@pytest.fixture
def recording(tmp_path) -> Recording:
    path = tmp_path / "möte.flac"
    path.write_bytes(b"fLaC" + bytes(100))
    return Recording(path, "möte.flac", 4.2)


def stored_keys(intake: Intake) -> list[str]:
    root = intake.storage.root
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def test_submit_stores_records_and_queues(intake, recording):
    intake, sent = intake
    job, created = submit(intake, recording, owner="k1", options=JobOptions(summarize=True))
    assert created and sent == [job.id]
    assert (job.status, job.options, job.summary_status) == (JobStatus.queued, {"summarize": True}, SummaryStatus.pending)
    assert job.audio_key == audio_key(job.id, "möte.flac") == f"jobs/{job.id}/audio.flac"
    assert intake.storage.read_bytes(job.audio_key) == recording.path.read_bytes()


def test_the_same_idempotency_key_returns_the_first_job_and_keeps_nothing_new(intake, recording):
    intake, sent = intake
    first, _ = submit(intake, recording, owner="k1", options=JobOptions(), idempotency_key="abc")
    again, created = submit(intake, recording, owner="k1", options=JobOptions(), idempotency_key="abc")
    assert not created and again.id == first.id and sent == [first.id]
    assert stored_keys(intake) == [first.audio_key]


def test_a_broker_that_is_down_leaves_the_job_queued_for_the_caller_to_remove(tmp_path, intake, recording):
    intake, _ = intake

    def broker_down(job_id: str, priority: int) -> None:
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379")

    down = Intake(intake.sessions, intake.storage, broker_down)
    with pytest.raises(QueueUnavailable, match="Error 111") as error:
        submit(down, recording, owner="k1", options=JobOptions())
    job = jobs.get_job(intake.sessions, error.value.job.id)
    assert job is not None and job.status == JobStatus.queued
    remove_job(intake, job.id)
    assert jobs.get_job(intake.sessions, job.id) is None and stored_keys(intake) == []


def test_audio_is_not_kept_when_the_row_cannot_be_written(tmp_path, recording):
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"  # no tables: the insert fails
    intake = Intake(session_factory(url), LocalStorage(tmp_path / "storage"), lambda job_id, priority: None)
    with pytest.raises(OperationalError):
        submit(intake, recording, owner="k1", options=JobOptions())
    assert stored_keys(intake) == []


def test_a_recording_over_the_limit_stores_and_records_nothing(intake, recording):
    intake, sent = intake
    with pytest.raises(TooLarge):
        submit(intake, recording, owner="k1", options=JobOptions(), max_bytes=10)
    assert stored_keys(intake) == [] and sent == []
    assert jobs.list_jobs(intake.sessions, "k1", None, 10, 0) == ([], 0)


def test_file_names_are_kept_printable_and_within_the_row(intake, recording):
    intake, _ = intake
    assert job_filename("möte\x00\n.wav") == "möte??.wav"
    assert job_filename(b"m\xf6te.wav".decode("utf-8", "surrogateescape")) == "m\ufffdte.wav"
    long_name = job_filename("x" * 2000 + ".flac")
    assert len(long_name) == MAX_FILENAME_CHARS and long_name.endswith("….flac")
    assert job_filename("") == "upload"
    job, _ = submit(intake, Recording(recording.path, "a\x00" * 400 + ".flac", 1.0), owner="k1", options=JobOptions())
    assert len(job.filename) == MAX_FILENAME_CHARS and "\x00" not in job.filename


def test_an_idempotency_key_is_bound_to_the_content_and_the_options(intake, recording, tmp_path):
    intake, sent = intake
    first, _ = submit(intake, recording, owner="k1", options=JobOptions(), idempotency_key="abc")
    other = tmp_path / "annan.flac"
    other.write_bytes(b"fLaC" + bytes(99) + b"\x01")
    with pytest.raises(IdempotencyConflict, match=first.id):
        submit(intake, Recording(other, "annan.flac", 4.2), owner="k1", options=JobOptions(), idempotency_key="abc")
    with pytest.raises(IdempotencyConflict):
        submit(intake, recording, owner="k1", options=JobOptions(language="en"), idempotency_key="abc")
    assert sent == [first.id] and stored_keys(intake) == [first.audio_key]
    assert jobs.get_job(intake.sessions, first.id).audio_sha256 == first.audio_sha256
