from __future__ import annotations

import time

import pytest

from .stack import make_stack, scratch_database

METRICS_TOKEN = "integration-metrics-token-0123456789"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request, tmp_path_factory):
    with scratch_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="module")
def stack(database_url, tmp_path_factory, model_cache):
    """API + one gpu worker + Redis, shared by a module's tests."""
    service = make_stack(
        tmp_path_factory.mktemp("stack"), database_url, model_cache, max_upload_mb="2", metrics_token=METRICS_TOKEN
    )
    try:
        service.start_api()
        service.start_worker()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def api_key(stack) -> str:
    return stack.create_key("tester")


def wait_for_job(client, job_id: str, timeout_s: float = 180) -> tuple[dict, list[float]]:
    """Poll until the job finishes; returns its last state and the progress values seen."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        seen.append(job["progress"])
        if job["status"] in ("completed", "failed"):
            return job, seen
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s: {job}")


def wait_for(condition, timeout_s: float = 60) -> None:
    """Poll `condition` until it holds; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
