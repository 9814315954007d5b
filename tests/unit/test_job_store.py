"""The job store against both databases the service supports: SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures

import pytest
from sqlalchemy import inspect

from tests.integration.stack import scratch_database
from workers.store import jobs
from workers.store.db import get_engine, new_id, session_factory
from workers.store.keys import create_key, find_key
from workers.store.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sessions(database_url):
    upgrade(database_url)
    return session_factory(database_url)


def new_job(owner="k1", key=None) -> jobs.NewJob:
    return jobs.NewJob(owner=owner, filename="möte.wav", audio_key="jobs/x/audio.wav", audio_sha256="0" * 64,
                       audio_size_bytes=10, duration_s=4.0, options={"language": "sv"}, idempotency_key=key)


def test_a_job_runs_completes_once_and_stays_completed(sessions):
    job, created = jobs.create_job(sessions, new_job(), new_id())
    assert created and job.status == "queued"
    assert jobs.start_attempt(sessions, job.id).attempts == 1
    jobs.report_progress(sessions, job.id, "transcribe", 0.5)
    jobs.report_progress(sessions, job.id, "transcribe", 0.3)
    assert jobs.get_job(sessions, job.id).progress == 0.5, "progress never goes down"
    assert jobs.complete_job(sessions, job.id, "jobs/x/transcript.json", 4.0, {"transcribe": 1.0})
    assert not jobs.complete_job(sessions, job.id, "jobs/x/other.json", 4.0, {})
    assert not jobs.fail_job(sessions, job.id, "late", "a late failure")
    assert jobs.start_attempt(sessions, job.id) is None, "a redelivered task finds nothing to do"
    done = jobs.get_job(sessions, job.id)
    assert (done.status, done.transcript_key, done.progress, done.attempts) == ("completed", "jobs/x/transcript.json", 1.0, 1)


def test_a_restarted_attempt_keeps_progress_rising(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    jobs.start_attempt(sessions, job.id)
    jobs.report_progress(sessions, job.id, "transcribe", 0.6)
    again = jobs.start_attempt(sessions, job.id)  # the worker died; the task came back
    assert again.attempts == 2 and again.progress == 0.6


def test_owners_only_see_their_own(sessions):
    mine, _ = jobs.create_job(sessions, new_job("k1"), new_id())
    jobs.create_job(sessions, new_job("k2"), new_id())
    assert jobs.get_job(sessions, mine.id, "k2") is None
    assert jobs.get_job(sessions, mine.id, "k1").id == mine.id
    listed, total = jobs.list_jobs(sessions, "k1", None, 50, 0)
    assert total == 1 and [j.id for j in listed] == [mine.id]


def test_pagination_and_status_filter(sessions):
    ids = [jobs.create_job(sessions, new_job(), new_id())[0].id for _ in range(5)]
    jobs.start_attempt(sessions, ids[0])
    jobs.fail_job(sessions, ids[0], "audio_decode_error", "x: truncated")
    page, total = jobs.list_jobs(sessions, "k1", None, 2, 2)
    assert total == 5 and len(page) == 2
    failed, total_failed = jobs.list_jobs(sessions, "k1", "failed", 50, 0)
    assert total_failed == 1 and failed[0].error_code == "audio_decode_error"
    assert jobs.list_jobs(sessions, "k1", "queued", 50, 0)[1] == 4


def test_idempotency_key_under_concurrency_gives_one_job(sessions):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: jobs.create_job(sessions, new_job(key="ärende-7"), new_id()), range(8)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    # The same key from another owner is another job.
    other, created = jobs.create_job(sessions, new_job("k2", key="ärende-7"), new_id())
    assert created and other.id != results[0][0].id


def test_delete(sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    assert jobs.delete_job(sessions, job.id) and jobs.get_job(sessions, job.id) is None
    assert not jobs.delete_job(sessions, job.id)
    assert not jobs.complete_job(sessions, job.id, "k", 1.0, {})


def test_keys_are_stored_hashed(sessions):
    record, key = create_key(sessions, "case system")
    assert key.startswith("sws_") and len(key) > 40 and key not in record.key_hash
    assert find_key(sessions, key).id == record.id
    assert find_key(sessions, key + "x") is None


def test_migrations_keep_existing_rows(database_url, sessions):
    job, _ = jobs.create_job(sessions, new_job(), new_id())
    upgrade(database_url)  # again: a no-op that must not touch data
    assert jobs.get_job(sessions, job.id).filename == "möte.wav"
    assert {"jobs", "api_keys", "alembic_version"} <= set(inspect(get_engine(database_url)).get_table_names())
