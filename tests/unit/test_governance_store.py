"""Governance in the store, on SQLite and PostgreSQL: tenants and keys, the 0006 migration of
existing rows into the default tenant, the audit hash chain, and the retention purge against
local and S3 storage with an injectable clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, inspect, text, update

from tests.unit.test_storage import backend  # noqa: F401 - the local and S3 storage fixture
from workers.runners.purge import PurgeOptions, purge
from workers.store import audit, jobs, keys
from workers.store.db import (
    DEFAULT_TENANT,
    AuditEvent,
    DeliveryStatus,
    Job,
    WebhookDelivery,
    get_engine,
    new_id,
    session_factory,
    utcnow,
)
from workers.store.migrate import upgrade
from workers.webhooks import store as webhook_store


def test_existing_keys_jobs_and_webhooks_move_into_the_default_tenant(database_url):
    upgrade(database_url, "0005")
    t = utcnow() - timedelta(days=3)
    with get_engine(database_url).begin() as connection:
        connection.execute(
            text("INSERT INTO api_keys (id, name, key_hash, created_at) VALUES ('k1', 'ärendesystem', :h, :t)"),
            {"h": "a" * 64, "t": t},
        )
        connection.execute(
            text(
                "INSERT INTO jobs (id, owner, status, progress, options, filename, audio_key, audio_sha256, audio_size_bytes,"
                " timings_s, attempts, created_at, finished_at, summary_status, summary_attempts, transcript_key)"
                " VALUES ('j1', 'k1', 'completed', 1.0, '{}', 'a.wav', 'jobs/j1/audio.wav', :sha, 10, '{}', 1, :t, :t,"
                " 'none', 0, 'jobs/j1/transcript.json')"
            ),
            {"sha": "0" * 64, "t": t},
        )
        connection.execute(
            text("INSERT INTO webhook_endpoints (owner, url, secret, created_at) VALUES ('k1', NULL, 'whsec_x', :t)"), {"t": t}
        )
    upgrade(database_url)
    upgrade(database_url)  # again: a no-op
    sessions = session_factory(database_url)
    key = keys.get_key(sessions, "k1")
    assert (key.tenant_id, key.role, key.revoked_at, key.name) == (DEFAULT_TENANT, "member", None, "ärendesystem")
    job = jobs.get_job(sessions, "j1")
    assert (job.tenant_id, job.owner, job.status, job.reference, job.legal_hold_at) == (
        DEFAULT_TENANT,
        "k1",
        "completed",
        None,
        None,
    )
    assert (job.audio_purged_at, job.results_purged_at) == (None, None)
    assert webhook_store.get_endpoint(sessions, "k1").previous_secret is None
    assert [t.id for t in keys.list_tenants(sessions)] == [DEFAULT_TENANT]
    assert "audit_events" in inspect(get_engine(database_url)).get_table_names()
    # And back down, for an operator who must roll back.
    from alembic import command

    from workers.store.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0005")
    assert "tenants" not in inspect(get_engine(database_url)).get_table_names()
    with get_engine(database_url).connect() as connection:
        assert connection.execute(text("SELECT owner FROM jobs WHERE id = 'j1'")).scalar() == "k1"


def test_tenants_keys_roles_and_revocation(sessions):
    other = keys.create_tenant(sessions, "Kommun B")
    with pytest.raises(keys.TenantExists):
        keys.create_tenant(sessions, "Kommun B")
    with pytest.raises(keys.TenantNotFound):
        keys.create_key(sessions, "x", "no-such-tenant")
    with pytest.raises(ValueError, match="role"):
        keys.create_key(sessions, "x", DEFAULT_TENANT, "owner")
    assert keys.find_tenant(sessions, "Kommun B").id == other.id == keys.find_tenant(sessions, other.id).id
    old, old_key = keys.create_key(sessions, "ärendesystem", other.id, "uploader")
    new, new_key = keys.create_key(sessions, "ärendesystem 2", other.id, "uploader")
    keys.create_key(sessions, "admin", DEFAULT_TENANT, "admin")
    # Rotation: both work until the old one is revoked.
    assert keys.find_key(sessions, old_key).id == old.id and keys.find_key(sessions, new_key).id == new.id
    assert not keys.revoke_key(sessions, old.id, DEFAULT_TENANT), "another tenant's key is not found"
    assert keys.revoke_key(sessions, old.id, other.id)
    assert not keys.revoke_key(sessions, old.id), "revoked once; the first time stands"
    assert keys.find_key(sessions, old_key) is None and keys.find_key(sessions, new_key).id == new.id
    assert keys.lookup_key(sessions, old_key).revoked_at is not None
    assert [k.id for k in keys.list_keys(sessions, other.id)] == [old.id, new.id]
    assert [k.id for k in keys.list_keys(sessions, other.id, include_revoked=False)] == [new.id]
    assert len(keys.list_keys(sessions)) == 3


def _entry(tenant: str | None, action: str = audit.Action.TRANSCRIPT_READ, **kw) -> audit.Entry:
    return audit.Entry(action=action, tenant_id=tenant, key_id="k1", object_type="job", object_id="j1", client="10.0.0.1", **kw)


def test_the_audit_chain_links_each_tenant_and_verify_finds_the_first_broken_link(sessions):
    for i in range(5):
        audit.record(sessions, _entry(DEFAULT_TENANT, detail={"format": "txt", "n": i}))
    audit.record(sessions, _entry("t2"))
    audit.record(sessions, _entry(None, audit.Action.AUTH_FAILED, outcome="denied"))
    checked, broken = audit.verify(sessions)
    assert (checked, broken) == (7, [])
    rows = audit.find(sessions, audit.AuditFilter(DEFAULT_TENANT), 100, 0)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert [r.seq for r in audit.find(sessions, audit.AuditFilter(DEFAULT_TENANT, action="transcript."), 2, 1)] == [2, 3]

    with sessions() as session:  # an edit in the middle
        session.execute(update(AuditEvent).where(AuditEvent.id == rows[2].id).values(outcome="denied"))
        session.commit()
    _checked, broken = audit.verify(sessions)
    assert [(b.tenant_id, b.seq) for b in broken] == [(DEFAULT_TENANT, 3)] and "edited" in broken[0].reason
    assert audit.verify(sessions, "t2")[1] == []

    with sessions() as session:  # put it back, then delete a row instead
        session.execute(update(AuditEvent).where(AuditEvent.id == rows[2].id).values(outcome="ok"))
        session.execute(delete(AuditEvent).where(AuditEvent.id == rows[1].id))
        session.commit()
    _checked, broken = audit.verify(sessions)
    assert [(b.tenant_id, b.seq) for b in broken] == [(DEFAULT_TENANT, 2)] and "missing" in broken[0].reason


def test_concurrent_appends_keep_one_chain(sessions):
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: audit.record(sessions, _entry(DEFAULT_TENANT, detail={"i": i})), range(24)))
    assert audit.verify(sessions) == (24, [])


# Retention


def _finished_job(sessions, storage, *, finished_ago: timedelta, tenant=DEFAULT_TENANT, summary=True) -> str:
    job_id = new_id()
    audio = storage.save_bytes(f"jobs/{job_id}/audio.wav", b"RIFF....")
    new = jobs.NewJob("k1", "möte.wav", audio.key, audio.sha256, audio.size_bytes, 1.0, {}, tenant_id=tenant, reference="Dnr 1")
    jobs.create_job(sessions, new, job_id)
    jobs.start_attempt(sessions, job_id)
    storage.save_bytes(jobs.transcript_key(job_id), b"{}")
    jobs.complete_job(sessions, job_id, jobs.transcript_key(job_id), 1.0, {})
    values = {"finished_at": utcnow() - finished_ago}
    if summary:
        storage.save_bytes(jobs.summary_key(job_id), b"{}")
        values |= {"summary_status": "completed", "summary_key": jobs.summary_key(job_id)}
    with sessions() as session:
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()
    return job_id


def test_the_purge_deletes_on_time_keeps_held_and_unsettled_jobs_and_is_idempotent(sessions, backend):  # noqa: F811
    storage = backend.storage
    options = PurgeOptions(default_audio_hours=168, default_results_days=30)
    fresh = _finished_job(sessions, storage, finished_ago=timedelta(hours=1))
    week_old = _finished_job(sessions, storage, finished_ago=timedelta(hours=170))
    held = _finished_job(sessions, storage, finished_ago=timedelta(days=40))
    unsettled = _finished_job(sessions, storage, finished_ago=timedelta(days=40))
    assert jobs.set_hold(sessions, held, True) and not jobs.set_hold(sessions, held, True)
    webhook_store.create_delivery(
        sessions,
        job_id=unsettled,
        owner="k1",
        event="job.completed",
        url="https://x.example/h",
        payload="{}",
        to_default_endpoint=False,
    )
    now = utcnow()
    first = purge(sessions, storage, options, now=lambda: now)
    assert first.audio == [week_old] and first.results == []
    assert f"jobs/{week_old}/audio.wav" not in backend.leftovers()
    assert f"jobs/{week_old}/transcript.json" in backend.leftovers()
    row = jobs.get_job(sessions, week_old)
    assert row.audio_purged_at is not None and row.results_purged_at is None and row.status == "completed"
    for job_id in (fresh, held, unsettled):
        assert f"jobs/{job_id}/audio.wav" in backend.leftovers()
    assert purge(sessions, storage, options, now=lambda: now).audio == [], "a second pass finds nothing"

    # The clock moves on 31 days: results go too, the held and unsettled jobs stay whole.
    later = now + timedelta(days=31)
    second = purge(sessions, storage, options, now=lambda: later)
    assert sorted(second.audio) == [fresh] and sorted(second.results) == sorted([fresh, week_old])
    assert not [k for k in backend.leftovers() if week_old in k or fresh in k]
    assert sorted({k.split("/")[1] for k in backend.leftovers()}) == sorted([held, unsettled])
    # The hold released and the delivery settled: the next pass takes them.
    jobs.set_hold(sessions, held, False)
    with sessions() as session:
        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.delivered))
        session.commit()
    third = purge(sessions, storage, options, now=lambda: later)
    assert sorted(third.audio) == sorted(third.results) == sorted([held, unsettled])
    assert backend.leftovers() == []
    assert webhook_store.for_job(sessions, unsettled) == [], "delivery payloads carry results"
    assert [r.id for r in jobs.list_jobs(sessions, None, None, 10, 0)[0]] != [], "the rows stay as the record"
    purged_events = audit.find(sessions, audit.AuditFilter(DEFAULT_TENANT, action=audit.Action.JOB_PURGED), 100, 0)
    assert len(purged_events) == 8 and audit.verify(sessions)[1] == []


def test_a_purge_killed_after_deleting_finishes_on_the_next_pass(sessions, backend, monkeypatch):  # noqa: F811
    storage = backend.storage
    options = PurgeOptions(default_audio_hours=0, default_results_days=0)
    job_id = _finished_job(sessions, storage, finished_ago=timedelta(hours=2), summary=False)

    delete = storage.delete

    def killed(key):
        delete(key)
        raise KeyboardInterrupt  # as if the process died after deleting, before committing

    monkeypatch.setattr(storage, "delete", killed)
    with pytest.raises(KeyboardInterrupt):
        purge(sessions, storage, options)
    assert f"jobs/{job_id}/audio.wav" not in backend.leftovers()
    assert jobs.get_job(sessions, job_id).audio_purged_at is None
    monkeypatch.undo()
    assert purge(sessions, storage, options).audio == [job_id]
    assert jobs.get_job(sessions, job_id).audio_purged_at is not None
    assert backend.leftovers() == [f"jobs/{job_id}/transcript.json"], "results_days 0 keeps results"


def test_a_hold_asked_for_while_the_job_is_being_purged_waits_for_the_purge(sessions, backend, monkeypatch):  # noqa: F811
    """The purge's guarded update holds the job's row (the database's write lock on SQLite)
    until its deletions are committed: a hold cannot land on a job half deleted."""
    import threading

    storage = backend.storage
    job_id = _finished_job(sessions, storage, finished_ago=timedelta(hours=2), summary=False)
    delete, holds = storage.delete, []

    askers: list[threading.Thread] = []

    def hold_meanwhile(key):
        if not askers:  # once, at the first object deleted
            askers.append(threading.Thread(target=lambda: holds.append(jobs.set_hold(sessions, job_id, True))))
            askers[0].start()
            askers[0].join(timeout=1.0)
            assert askers[0].is_alive(), "the hold landed while the audio was being deleted"
        delete(key)

    monkeypatch.setattr(storage, "delete", hold_meanwhile)
    assert purge(sessions, storage, PurgeOptions(default_audio_hours=0, default_results_days=30)).audio == [job_id]
    askers[0].join(timeout=30)
    assert holds == [True], "the hold lands once the purge is committed"
    job = jobs.get_job(sessions, job_id)
    assert job.audio_purged_at is not None and job.legal_hold_at is not None and job.results_purged_at is None
    monkeypatch.undo()
    later = utcnow() + timedelta(days=60)
    assert purge(sessions, storage, PurgeOptions(default_audio_hours=0, default_results_days=30), now=lambda: later).results == []


def test_a_hold_set_before_the_purge_reaches_the_job_keeps_it(sessions, backend, monkeypatch):  # noqa: F811
    storage = backend.storage
    job_id = _finished_job(sessions, storage, finished_ago=timedelta(hours=2), summary=False)
    listed = jobs.due_for_purge

    def listed_then_held(*args, **kwargs):
        due = listed(*args, **kwargs)
        jobs.set_hold(sessions, job_id, True)  # between the listing and the purge of the job
        return due

    monkeypatch.setattr(jobs, "due_for_purge", listed_then_held)
    assert purge(sessions, storage, PurgeOptions(default_audio_hours=0, default_results_days=0)).audio == []
    assert f"jobs/{job_id}/audio.wav" in backend.leftovers()
    assert jobs.get_job(sessions, job_id).audio_purged_at is None


def test_a_tenants_own_retention_wins_over_the_default(sessions, backend):  # noqa: F811
    storage = backend.storage
    strict = keys.create_tenant(sessions, "strikt")
    keys.set_retention(sessions, strict.id, audio_hours=1, results_days=1)
    theirs = _finished_job(sessions, storage, finished_ago=timedelta(hours=30), tenant=strict.id)
    ours = _finished_job(sessions, storage, finished_ago=timedelta(hours=30))
    result = purge(sessions, storage, PurgeOptions(default_audio_hours=168, default_results_days=30))
    assert result.audio == [theirs] and result.results == [theirs]
    assert all(theirs not in k for k in backend.leftovers()) and any(ours in k for k in backend.leftovers())
    with pytest.raises(ValueError):
        keys.set_retention(sessions, strict.id, audio_hours=-1, results_days=None)
