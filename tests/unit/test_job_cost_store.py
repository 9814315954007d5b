"""A job's cost in the store, on SQLite and PostgreSQL: complete_job keeps it with the job and
adds its energy and CPU and GPU seconds to the running totals in the same transaction, the
/metrics figures and a recount agree with the rows, the webhook's job.completed carries it, and
migration 0010 keeps what was there before it."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from workers.pipeline.cost import ESTIMATED, MEASURED_NVML, EnergyPart, JobCost, StageCost, share
from workers.store import jobs
from workers.store.db import Base, Job, JobTotal, StageTotal, get_engine, new_id, session_factory
from workers.store.migrate import upgrade
from workers.webhooks.events import COMPLETED, FAILED, job_event

TIMINGS = {"load_model": 0.5, "decode": 0.2, "transcribe": 4.0, "store": 0.05}


def new_job(owner: str = "k1", tenant: str = "t1", duration_s: float = 60.0) -> jobs.NewJob:
    return jobs.NewJob(
        owner=owner,
        filename="möte.wav",
        audio_key="jobs/x/audio.wav",
        audio_sha256="0" * 64,
        audio_size_bytes=10,
        duration_s=duration_s,
        options={"language": "sv"},
        tenant_id=tenant,
    )


def a_cost(scale: float = 1.0) -> JobCost:
    return JobCost(
        stages={
            "load_model": StageCost(0.4 * scale, 0.0, 0.5 * scale),
            "decode": StageCost(0.3 * scale, 0.0, 0.2 * scale),
            "transcribe": StageCost(7.5 * scale, 4.0 * scale, 4.0 * scale),
            "store": StageCost(0.01 * scale, 0.0, 0.05 * scale),
        },
        energy={"cpu": EnergyPart(0.0092 * scale, ESTIMATED), "gpu": EnergyPart(0.21 * scale, MEASURED_NVML)},
    )


def started(sessions, **kwargs) -> str:
    job, _ = jobs.create_job(sessions, new_job(**kwargs), new_id())
    assert jobs.start_attempt(sessions, job.id) is not None
    return job.id


def totals(sessions) -> dict[tuple[str, str, str], tuple[int, float, float]]:
    with sessions() as session:
        return {(t.tenant_id, t.owner, t.status): (t.jobs, t.audio_s, t.energy_wh) for t in session.scalars(select(JobTotal))}


def stage_totals(sessions) -> dict[str, tuple[float, int, float, float]]:
    with sessions() as session:
        return {s.stage: (s.seconds, s.jobs, s.cpu_s, s.gpu_s) for s in session.scalars(select(StageTotal))}


def test_a_completed_jobs_cost_is_kept_and_added_to_the_totals(sessions):
    first = started(sessions)
    record = a_cost().as_record()
    assert jobs.complete_job(sessions, first, "k", 60.0, TIMINGS, attempt=1, cost=record)
    assert jobs.get_job(sessions, first).cost == record
    assert totals(sessions)[("t1", "k1", "completed")] == (1, 60.0, pytest.approx(0.2192))
    # A second job of the tenant, and one of another tenant: energy adds up by tenant.
    second = started(sessions, duration_s=30.0)
    assert jobs.complete_job(sessions, second, "k", 30.0, TIMINGS, cost=a_cost(0.5).as_record())
    other = started(sessions, owner="k9", tenant="t2")
    assert jobs.complete_job(sessions, other, "k", 60.0, TIMINGS, cost=a_cost(2).as_record())
    figures = jobs.job_figures(sessions)
    assert figures.energy_wh_by_tenant == pytest.approx({"t1": 0.2192 * 1.5, "t2": 0.2192 * 2})
    assert figures.audio_s_by_tenant == pytest.approx({"t1": 90.0, "t2": 60.0})
    assert figures.stage_cpu_s["transcribe"] == pytest.approx(7.5 * 3.5)
    assert figures.stage_gpu_s == pytest.approx({"load_model": 0.0, "decode": 0.0, "transcribe": 4.0 * 3.5, "store": 0.0})
    assert stage_totals(sessions)["transcribe"][:2] == (pytest.approx(12.0), 3), "stage seconds and jobs as before"


def test_a_completion_that_loses_the_race_adds_nothing(sessions):
    job_id = started(sessions)
    assert jobs.complete_job(sessions, job_id, "k", 60.0, TIMINGS, cost=a_cost().as_record())
    assert not jobs.complete_job(sessions, job_id, "k", 60.0, TIMINGS, cost=a_cost(10).as_record())
    assert jobs.get_job(sessions, job_id).cost == a_cost().as_record()
    assert totals(sessions)[("t1", "k1", "completed")][2] == pytest.approx(0.2192)


def test_callers_without_a_cost_still_complete_jobs(sessions):
    job_id = started(sessions)
    assert jobs.complete_job(sessions, job_id, "k", 60.0, TIMINGS, 1)  # positional, as before
    assert jobs.get_job(sessions, job_id).cost is None
    with sessions() as session:
        # SQL NULL, not JSON null: "no cost" reads the same in every query.
        assert session.scalar(select(Job.id).where(Job.cost.is_(None))) == job_id
    assert totals(sessions)[("t1", "k1", "completed")] == (1, 60.0, 0.0)
    assert stage_totals(sessions)["transcribe"] == (4.0, 1, 0.0, 0.0)
    failed = started(sessions)
    assert jobs.fail_job(sessions, failed, "audio_decode_error", "cut off")
    assert totals(sessions)[("t1", "k1", "failed")][2] == 0.0


def test_stages_only_the_cost_names_get_cpu_seconds_but_no_job_count(sessions):
    job_id = started(sessions)
    cost = {"stages": {"redact": {"cpu_s": 1.25, "gpu_s": 0.0, "wall_s": 1.3}}, "energy_wh": 0.001, "energy_source": ESTIMATED}
    assert jobs.complete_job(sessions, job_id, "k", 60.0, {"transcribe": 4.0}, cost=cost)
    assert stage_totals(sessions) == {"redact": (0.0, 0, 1.25, 0.0), "transcribe": (4.0, 1, 0.0, 0.0)}


def test_energy_stays_in_the_counter_after_a_delete_and_a_recount_reads_the_rows(sessions):
    keep, gone = started(sessions), started(sessions)
    for job_id in (keep, gone):
        assert jobs.complete_job(sessions, job_id, "k", 60.0, TIMINGS, cost=a_cost().as_record())
    assert jobs.delete_job(sessions, gone)
    assert totals(sessions)[("t1", "k1", "completed")] == (1, 120.0, pytest.approx(2 * 0.2192))
    jobs.recount_totals(sessions)  # rebuilt from the rows that are left
    assert totals(sessions)[("t1", "k1", "completed")] == (1, 60.0, pytest.approx(0.2192))


def test_each_job_of_a_batch_records_its_share(sessions):
    batch = a_cost()
    durations = [10.0, 30.0]
    ids = [started(sessions, duration_s=d) for d in durations]
    for job_id, duration, part in zip(ids, durations, share(batch, durations), strict=True):
        assert jobs.complete_job(sessions, job_id, "k", duration, {"transcribe": 1.0}, cost=part.as_record())
    stored = [jobs.get_job(sessions, job_id).cost for job_id in ids]
    assert stored[1]["energy_wh"] == pytest.approx(3 * stored[0]["energy_wh"], rel=1e-4)
    assert jobs.job_figures(sessions).energy_wh_by_tenant["t1"] == pytest.approx(batch.energy_wh, rel=1e-4)


def test_job_completed_carries_the_cost_and_job_failed_does_not(sessions):
    job_id = started(sessions)
    assert jobs.complete_job(sessions, job_id, "k", 60.0, TIMINGS, cost=a_cost().as_record())
    body = json.loads(job_event(jobs.get_job(sessions, job_id), COMPLETED, "{}", 1024, "https://stt.example.se"))
    assert body["data"]["cost"] == a_cost().as_record()
    assert body["data"]["cost"]["energy_source"] == "estimated+measured_nvml"
    without = started(sessions)
    assert jobs.complete_job(sessions, without, "k", 60.0, TIMINGS)
    assert json.loads(job_event(jobs.get_job(sessions, without), COMPLETED, "{}", 1024, None))["data"]["cost"] is None
    failed = started(sessions)
    assert jobs.fail_job(sessions, failed, "audio_decode_error", "cut off")
    assert "cost" not in json.loads(job_event(jobs.get_job(sessions, failed), FAILED, None, 1024, None))["data"]


def test_the_cost_migration_keeps_earlier_rows(database_url):
    upgrade(database_url, "0009")
    with get_engine(database_url).begin() as connection:
        connection.execute(
            text("INSERT INTO job_totals (tenant_id, owner, status, jobs, audio_s) VALUES ('t1', 'k1', 'completed', 4, 240.0)")
        )
        connection.execute(text("INSERT INTO job_stage_totals (stage, seconds, jobs) VALUES ('transcribe', 16.0, 4)"))
    upgrade(database_url)
    sessions = session_factory(database_url)
    assert totals(sessions) == {("t1", "k1", "completed"): (4, 240.0, 0.0)}
    assert stage_totals(sessions) == {"transcribe": (16.0, 4, 0.0, 0.0)}
    job_id = started(sessions)
    assert jobs.complete_job(sessions, job_id, "k", 60.0, {"transcribe": 4.0}, cost=a_cost().as_record())
    assert totals(sessions)[("t1", "k1", "completed")] == (5, 300.0, pytest.approx(0.2192))
    assert {"cost"} <= {c["name"] for c in inspect(get_engine(database_url)).get_columns("jobs")}


def test_the_models_match_the_migrations(sessions, database_url):
    with get_engine(database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
