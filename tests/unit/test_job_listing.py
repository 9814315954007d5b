"""Job listings and /metrics figures in the store, on SQLite and PostgreSQL: keyset pages walk
every job exactly once in order under each filter (ties in created_at included), the figures
equal a count row by row, and migration 0008 fills the stage totals from existing jobs."""

from __future__ import annotations

import base64
import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text

from workers.store import jobs
from workers.store.cursor import InvalidCursor, Listing, Position, decode, encode
from workers.store.db import Job, StageTotal, get_engine, session_factory, utcnow
from workers.store.migrate import upgrade

TENANTS = ("t1", "t2")
OWNERS = {"t1": ("k1", "k2"), "t2": ("k3",)}
STATUSES = ("queued", "running", "completed", "failed")


def seed(sessions, n: int = 120, seed: int = 3) -> list[Job]:
    """Jobs across two tenants, three owners and every status; every fifth shares its
    created_at with the one before (ties are broken by id)."""
    rng = random.Random(seed)
    start = utcnow() - timedelta(days=10)
    made = []
    at = start
    for i in range(n):
        if i % 5:
            at = at + timedelta(seconds=rng.randint(1, 3000), microseconds=rng.randint(0, 999_999))
        tenant = rng.choice(TENANTS)
        status = rng.choice(STATUSES)
        completed = status == "completed"
        made.append(
            Job(
                id=f"{rng.getrandbits(128):032x}",
                owner=rng.choice(OWNERS[tenant]),
                tenant_id=tenant,
                status=status,
                progress=1.0 if completed else 0.0,
                options={},
                filename="a.wav",
                audio_key="a",
                audio_sha256="0" * 64,
                audio_size_bytes=10,
                duration_s=round(rng.uniform(1, 600), 3) if completed or rng.random() < 0.5 else None,
                timings_s={"transcribe": round(rng.uniform(0, 60), 3), "decode": 0.25} if completed else {},
                attempts=1,
                created_at=at,
            )
        )
    with sessions() as session:
        session.add_all(made)
        session.commit()
    jobs.recount_totals(sessions)  # written around the store: its totals rebuilt from the rows
    return made


LISTINGS = [
    Listing(tenant_id="t1"),
    Listing(tenant_id="t2"),
    Listing(tenant_id="t1", status="completed"),
    Listing(tenant_id="t1", owner="k1"),
    Listing(tenant_id="t1", owner="k2", status="failed"),
    Listing(tenant_id=None),
]


def expected(made: list[Job], listing: Listing) -> list[str]:
    chosen = [
        j
        for j in made
        if (listing.tenant_id is None or j.tenant_id == listing.tenant_id)
        and (listing.owner is None or j.owner == listing.owner)
        and (listing.status is None or j.status == listing.status)
    ]
    return [j.id for j in sorted(chosen, key=lambda j: (j.created_at, j.id), reverse=True)]


@pytest.mark.parametrize("limit", [1, 7])
def test_cursor_pages_walk_every_job_once_in_order_under_each_filter(sessions, limit):
    made = seed(sessions)
    for listing in LISTINGS:
        want = expected(made, listing)
        seen: list[str] = []
        after = None
        for _ in range(len(made) + 2):
            page, last = jobs.page_jobs(sessions, listing, limit, after=after)
            assert len(page) <= limit
            seen += [j.id for j in page]
            if last is None:
                break
            # Through the wire form, as a client carries it.
            after = decode(encode(last, listing), listing)
        assert seen == want, listing
        assert jobs.count_jobs(sessions, listing) == len(want)
        # Offset pages give the same order, and a cursor from an offset page goes on from it.
        first, last = jobs.page_jobs(sessions, listing, 3, offset=2)
        assert [j.id for j in first] == want[2:5]
        if last is not None:
            rest, _ = jobs.page_jobs(sessions, listing, 500, after=last)
            assert [j.id for j in rest] == want[5:]


def test_list_jobs_keeps_its_offset_contract(sessions):
    made = seed(sessions, n=30)
    want = expected(made, Listing(tenant_id="t1"))
    page, total = jobs.list_jobs(sessions, None, None, 4, 3, tenant_id="t1")
    assert [j.id for j in page] == want[3:7] and total == len(want)


def through_the_store(sessions, n: int, seed: int = 11, deleted_share: float = 0.1) -> list[str]:
    """Jobs made and moved as the service does: created, started, completed or failed, some
    left queued or running, some deleted (finished or not)."""
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        tenant = rng.choice(TENANTS)
        new = jobs.NewJob(
            owner=rng.choice(OWNERS[tenant]),
            filename="a.wav",
            audio_key="a",
            audio_sha256="0" * 64,
            audio_size_bytes=10,
            duration_s=None,
            options={},
            tenant_id=tenant,
        )
        job_id = f"{rng.getrandbits(128):032x}"
        jobs.create_job(sessions, new, job_id)
        made.append(job_id)
        fate = rng.random()
        if fate < 0.15:
            continue
        attempt = jobs.start_attempt(sessions, job_id)
        assert attempt is not None
        if fate < 0.25:
            continue
        if fate < 0.4:
            assert jobs.fail_job(sessions, job_id, "bad_audio", "no")
        else:
            timings = {"decode": 0.5, "transcribe": round(rng.uniform(1, 30), 3)}
            assert jobs.complete_job(sessions, job_id, "k", round(rng.uniform(1, 600), 3), timings, attempt.attempts)
        if rng.random() < deleted_share:
            assert jobs.delete_job(sessions, job_id)
    return made


def row_by_row(sessions) -> tuple[dict[str, int], dict[str, float], dict[str, float]]:
    with sessions() as session:
        rows = session.scalars(select(Job)).all()
    by_status = {s: 0 for s in STATUSES}
    audio: dict[str, float] = {}
    stage_s: dict[str, float] = {}
    for job in rows:
        by_status[job.status] += 1
        if job.status == "completed":
            audio[job.tenant_id] = audio.get(job.tenant_id, 0.0) + job.duration_s
            for stage, seconds in job.timings_s.items():
                stage_s[stage] = stage_s.get(stage, 0.0) + seconds
    return by_status, audio, stage_s


def test_figures_equal_a_count_row_by_row(sessions):
    through_the_store(sessions, 60, deleted_share=0.0)
    by_status, audio, stage_s = row_by_row(sessions)
    assert all(by_status.values())
    figures = jobs.job_figures(sessions)
    assert figures.by_status == by_status
    assert figures.audio_s_by_tenant == pytest.approx(audio)
    assert figures.stage_s == pytest.approx(stage_s)


def test_deleted_jobs_leave_the_counts_but_not_the_audio_counters(sessions):
    through_the_store(sessions, 60, seed=5, deleted_share=0.3)
    by_status, audio, stage_s = row_by_row(sessions)
    figures = jobs.job_figures(sessions)
    assert figures.by_status == by_status
    # Audio and stage seconds are Prometheus counters: what a deleted job took stays in them.
    assert figures.audio_s_by_tenant.keys() == audio.keys()
    assert all(figures.audio_s_by_tenant[t] > seconds for t, seconds in audio.items())
    assert all(figures.stage_s[stage] > seconds for stage, seconds in stage_s.items())


def test_stage_totals_grow_with_each_completion_once(sessions):
    made = seed(sessions, n=20)
    open_jobs = [j for j in made if j.status in ("queued", "running")]
    assert len(open_jobs) >= 2
    before = jobs.job_figures(sessions).stage_s
    assert before == {}  # rows inserted directly, not completed through the store
    a, b = open_jobs[:2]
    assert jobs.complete_job(sessions, a.id, "k", 10.0, {"transcribe": 4.5, "decode": 0.5})
    assert not jobs.complete_job(sessions, a.id, "k", 10.0, {"transcribe": 4.5, "decode": 0.5})  # once only
    assert jobs.complete_job(sessions, b.id, "k", 10.0, {"transcribe": 1.25, "diarize": 2.0, "note": "x"})
    assert jobs.job_figures(sessions).stage_s == {"decode": 0.5, "diarize": 2.0, "transcribe": 5.75}
    with sessions() as session:
        assert session.get(StageTotal, "transcribe").jobs == 2


def test_migration_0008_totals_existing_jobs_and_goes_back_down(database_url):
    upgrade(database_url, "0007")
    engine = get_engine(database_url)
    t = utcnow()
    with engine.begin() as connection:
        for i, (status, timings) in enumerate(
            [
                ("completed", '{"transcribe": 3.5, "decode": 0.5}'),
                ("completed", '{"transcribe": 1.5}'),
                ("failed", '{"transcribe": 100}'),
                ("completed", "{}"),
            ]
        ):
            connection.execute(
                text(
                    "INSERT INTO jobs (id, owner, status, progress, options, filename, audio_key, audio_sha256,"
                    " audio_size_bytes, timings_s, attempts, created_at, summary_status, summary_attempts)"
                    " VALUES (:id, 'k1', :s, 1.0, '{}', 'a.wav', 'a', :sha, 10, :timings, 1, :t, 'none', 0)"
                ),
                {"id": f"j{i}", "s": status, "sha": "0" * 64, "timings": timings, "t": t},
            )
    upgrade(database_url)
    sessions = session_factory(database_url)
    figures = jobs.job_figures(sessions)
    assert figures.stage_s == {"decode": 0.5, "transcribe": 5.0}
    assert (figures.by_status["completed"], figures.by_status["failed"]) == (3, 1)
    names = {i["name"] for i in inspect(engine).get_indexes("jobs")}
    assert {"ix_jobs_tenant_created", "ix_jobs_owner_status_created", "ix_jobs_audio_purge_due"} <= names
    assert not {"ix_jobs_tenant_id", "ix_jobs_owner"} & names
    from alembic import command

    from workers.store.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0007")
    inspector = inspect(engine)
    assert not {"job_stage_totals", "job_totals"} & set(inspector.get_table_names())
    assert {"ix_jobs_tenant_id", "ix_jobs_owner"} <= {i["name"] for i in inspector.get_indexes("jobs")}
    upgrade(database_url)


def _b64(body) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x" * 201,
        "not base64!",
        "////",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _b64([1, 2]),
        _b64({"t": 1, "i": "a"}),
        _b64({"t": "1", "i": "a", "f": "x"}),
        _b64({"t": True, "i": "a", "f": "x"}),
        _b64({"t": 10**30, "i": "a", "f": "x"}),
        _b64({"t": -(10**17), "i": "a", "f": "x"}),
        _b64({"t": 1_700_000_000_000_000, "i": "a' OR 1=1 --", "f": "x"}),
        _b64({"t": 1_700_000_000_000_000, "i": "a" * 33, "f": "x"}),
    ],
)
def test_malformed_cursors_are_refused_with_a_reason(cursor):
    with pytest.raises(InvalidCursor) as refused:
        decode(cursor, Listing(tenant_id="t1"))
    assert str(refused.value)


def test_a_cursor_continues_only_its_own_listing():
    at = utcnow()
    cursor = encode(Position(created_at=at, id="ab" * 16), Listing(tenant_id="t1"))
    assert decode(cursor, Listing(tenant_id="t1")) == Position(created_at=at, id="ab" * 16)
    assert "t1" not in base64.urlsafe_b64decode(cursor + "==").decode()  # the tenant is not spelled out
    for other in (Listing("t2"), Listing("t1", owner="k1"), Listing("t1", status="failed"), Listing("t1", reference="r")):
        with pytest.raises(InvalidCursor, match="another listing"):
            decode(cursor, other)
