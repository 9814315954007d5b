"""A job's cost over the API: GET /v1/jobs/{id} shows it (null before the job completed or when
no meter ran), and /metrics reports energy and audio hours by tenant and CPU and GPU seconds per
stage from the running totals, equal to the jobs' own figures."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import queued_job
from tests.api.test_exposure import NO_BROKER, TOKEN
from workers.pipeline.cost import ESTIMATED, MEASURED_RAPL, EnergyPart, JobCost, StageCost
from workers.store import jobs
from workers.store.db import DEFAULT_TENANT

TIMINGS = {"decode": 0.1, "transcribe": 1.0, "store": 0.01}


@pytest.fixture
def settings_overrides(request) -> dict:
    return getattr(request, "param", {})


def cost(energy_wh: float, source: str = ESTIMATED) -> JobCost:
    return JobCost(
        stages={"decode": StageCost(0.2, 0.0, 0.1), "transcribe": StageCost(1.8, 0.0, 1.0), "store": StageCost(0.01, 0.0, 0.01)},
        energy={"cpu": EnergyPart(energy_wh, source)},
    )


def complete(api, job_cost: JobCost | None, owner: str | None = None) -> str:
    job_id = queued_job(api, owner)
    assert jobs.start_attempt(api.sessions, job_id) is not None
    record = job_cost.as_record() if job_cost is not None else None
    assert jobs.complete_job(api.sessions, job_id, jobs.transcript_key(job_id), 2.5, TIMINGS, cost=record)
    return job_id


def test_the_job_shows_its_cost(api):
    job_id = complete(api, cost(0.0022, MEASURED_RAPL))
    body = api.client.get(f"/v1/jobs/{job_id}", headers=api.auth()).json()
    assert body["cost"] == cost(0.0022, MEASURED_RAPL).as_record()
    assert body["cost"]["stages"]["transcribe"] == {"cpu_s": 1.8, "gpu_s": 0.0, "wall_s": 1.0}
    assert body["cost"]["energy_source"] == "measured_rapl"
    # In the listing too, and null for a job not yet completed or completed without a meter.
    listed = {j["id"]: j for j in api.client.get("/v1/jobs", headers=api.auth()).json()["jobs"]}
    assert listed[job_id]["cost"]["energy_wh"] == 0.0022
    waiting, unmetered = queued_job(api), complete(api, None)
    for other in (waiting, unmetered):
        assert api.client.get(f"/v1/jobs/{other}", headers=api.auth()).json()["cost"] is None
    described = api.client.app.openapi()["components"]["schemas"]
    assert "measured_rapl" in described["CostPublic"]["properties"]["energy_source"]["description"]


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": TOKEN, "redis_url": NO_BROKER}], indirect=True)
def test_metrics_report_energy_and_audio_hours_by_tenant_and_cpu_seconds_per_stage(api):
    made = [
        complete(api, cost(0.002)),
        complete(api, cost(0.003)),
        complete(api, None),
        complete(api, cost(0.01), api.other_owner),
    ]
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }

    def by(name: str, label: str) -> dict[str, float]:
        return {dict(k[1])[label]: v for k, v in samples.items() if k[0] == name}

    energy = by("swescribe_tenant_energy_watt_hours_total", "tenant")
    assert energy.pop(DEFAULT_TENANT) == pytest.approx(0.005)
    assert list(energy.values()) == [pytest.approx(0.01)], "the other tenant's"
    hours = by("swescribe_tenant_audio_hours_total", "tenant")
    assert hours[DEFAULT_TENANT] == pytest.approx(3 * 2.5 / 3600)
    # Equal to the jobs' own figures.
    shown = [api.client.get(f"/v1/jobs/{j}", headers=api.auth()).json() for j in made[:3]]
    assert sum(j["cost"]["energy_wh"] for j in shown if j["cost"]) == pytest.approx(0.005)
    cpu = by("swescribe_stage_cpu_seconds_total", "stage")
    assert cpu == pytest.approx({"decode": 0.6, "transcribe": 5.4, "store": 0.03})
    assert by("swescribe_stage_gpu_seconds_total", "stage") == pytest.approx({"decode": 0.0, "transcribe": 0.0, "store": 0.0})
