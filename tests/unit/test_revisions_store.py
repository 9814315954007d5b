"""Transcript revisions and speaker names in the store, on SQLite and PostgreSQL: migration 0007
on a database holding a job, numbering, conflicts, and removal with the results."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from workers.store import revisions
from workers.store.db import get_engine, session_factory, utcnow
from workers.store.migrate import alembic_config, upgrade


def test_migration_0007_adds_the_tables_to_a_database_with_jobs_and_goes_back(database_url):
    upgrade(database_url, "0006")
    t = utcnow()
    with get_engine(database_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, owner, tenant_id, status, progress, options, filename, audio_key, audio_sha256,"
                " audio_size_bytes, timings_s, attempts, created_at, finished_at, summary_status, summary_attempts, transcript_key)"
                " VALUES ('j1', 'k1', 'default', 'completed', 1.0, '{}', 'a.wav', 'jobs/j1/audio.wav', :sha, 10, '{}', 1, :t, :t,"
                " 'none', 0, 'jobs/j1/transcript.json')"
            ),
            {"sha": "0" * 64, "t": t},
        )
    upgrade(database_url)
    upgrade(database_url)  # again: a no-op
    sessions = session_factory(database_url)
    assert revisions.latest_revision(sessions, "j1") == 0
    assert revisions.list_revisions(sessions, "j1") == []
    assert revisions.speaker_names(sessions, "j1") == {}
    key = revisions.new_revision_key("j1", 1)
    assert key.startswith("jobs/j1/transcript.r1.") and key != revisions.new_revision_key("j1", 1)
    row = revisions.add_revision(sessions, "j1", key, "k1", "namn rättade", 2, base_revision=0)
    assert (row.revision, row.transcript_key, row.note) == (1, key, "namn rättade")
    revisions.set_speaker_names(sessions, "j1", {"Talare 1": "Anna Berg"})
    with get_engine(database_url).connect() as connection:
        assert connection.execute(text("SELECT transcript_key FROM jobs WHERE id = 'j1'")).scalar() == "jobs/j1/transcript.json"
    command.downgrade(alembic_config(database_url), "0006")
    tables = inspect(get_engine(database_url)).get_table_names()
    assert "transcript_revisions" not in tables and "speaker_names" not in tables and "jobs" in tables
    upgrade(database_url)
    assert revisions.latest_revision(session_factory(database_url), "j1") == 0


def test_revisions_are_numbered_per_job_and_a_stale_base_is_a_conflict(sessions):
    assert [revisions.add_revision(sessions, "j1", f"o{n}", "k1", None, 1, base_revision=n).revision for n in range(3)] == [
        1,
        2,
        3,
    ]
    assert revisions.add_revision(sessions, "j2", "jobs/j2/transcript.r1.json", None, "x", 1, base_revision=0).revision == 1
    with pytest.raises(revisions.RevisionConflict):
        revisions.add_revision(sessions, "j1", "o", "k1", None, 1, base_revision=1)
    assert revisions.add_revision(sessions, "j1", "o3", "k1", None, 1, base_revision=3).revision == 4
    assert [r.revision for r in revisions.list_revisions(sessions, "j1")] == [1, 2, 3, 4]
    assert revisions.get_revision(sessions, "j1", 2).key_id == "k1"
    assert revisions.get_revision(sessions, "j1", 9) is None
    with sessions() as session:
        assert revisions.transcript_keys(session, "j2") == ["jobs/j2/transcript.r1.json"]


def test_speaker_names_are_replaced_whole_and_deleted_with_the_revisions(sessions):
    revisions.set_speaker_names(sessions, "j1", {"Talare 1": "Anna Berg", "Talare 2": "Bo Ek"})
    revisions.set_speaker_names(sessions, "j1", {"Talare 2": "Bo Eklund"})
    revisions.set_speaker_names(sessions, "j2", {"Talare 1": "Cecilia"})
    assert revisions.speaker_names(sessions, "j1") == {"Talare 2": "Bo Eklund"}
    revisions.add_revision(sessions, "j1", "o", None, None, 1, base_revision=0)
    revisions.delete_for_job(sessions, "j1")
    assert revisions.speaker_names(sessions, "j1") == {} and revisions.list_revisions(sessions, "j1") == []
    assert revisions.speaker_names(sessions, "j2") == {"Talare 1": "Cecilia"}
