"""Summaries through the running service: upload with summarize=true, a cpu worker asks the LLM,
GET /v1/jobs/{id}/summary returns it; an LLM that is down costs only the summary."""

from __future__ import annotations

import time

import pytest

from tests.conftest import TEST_LLM_CONTEXT_TOKENS
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME
from workers.summary.schema import Summary

from .conftest import wait_for_job
from .stack import make_stack, scratch_database

pytestmark = [pytest.mark.integration, pytest.mark.model]


def upload(client, path, **fields):
    with open(path, "rb") as f:
        return client.post("/v1/jobs", files={"file": (path.name, f)}, data=fields)


def wait_for_summary(client, job_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["summary"]["status"] in ("completed", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"the summary of job {job_id} did not finish in {timeout_s} s: {job}")


def running_stack(root, database_url, model_cache, **settings):
    service = make_stack(root, database_url, model_cache, auth_disabled="1", **settings)
    service.start_api()
    service.start_worker("gpu")
    service.start_worker("cpu")
    return service


@pytest.mark.llm
def test_a_job_with_summarize_ends_with_a_grounded_swedish_summary(tmp_path, model_cache, embedded_llm, real_speech_entries):
    with scratch_database("sqlite", tmp_path) as url:
        service = running_stack(
            tmp_path / "stack",
            url,
            model_cache,
            llm_base_url=embedded_llm,
            llm_model=EMBEDDED_MODEL_NAME,
            llm_json_mode="json_object_schema",
            llm_context_tokens=str(TEST_LLM_CONTEXT_TOKENS),
            llm_max_output_tokens="400",
            llm_max_retries="0",
            llm_timeout_s="900",
        )
        try:
            with service.client() as client:
                created = upload(client, real_speech_entries[0]["path"], summarize="true").json()
                assert created["summary"] == {"status": "pending", "error": None}
                assert created["options"]["summarize"] is True
                job, _ = wait_for_job(client, created["id"])
                assert job["status"] == "completed"
                job = wait_for_summary(client, created["id"], timeout_s=1200)
                assert job["status"] == "completed" and job["summary"] == {"status": "completed", "error": None}, job
                response = client.get(f"/v1/jobs/{created['id']}/summary")
                assert response.status_code == 200
                summary = Summary.model_validate(response.json())
                segment_ids = {s["id"] for s in client.get(f"/v1/jobs/{created['id']}/transcript").json()["segments"]}
                for item in [*summary.decisions, *summary.action_items]:
                    assert {c.segment_id for c in item.citations} <= segment_ids
                markdown = client.get(f"/v1/jobs/{created['id']}/summary", params={"format": "md"})
                assert markdown.headers["content-type"].startswith("text/markdown")
                assert "## Ärende" in markdown.text and summary.matter.split()[0] in markdown.text
        finally:
            service.stop()


def test_an_llm_that_is_down_fails_only_the_summary_and_asking_again_works(tmp_path, model_cache, real_speech_entries):
    with scratch_database("postgres", tmp_path) as url:
        service = running_stack(
            tmp_path / "stack", url, model_cache, llm_base_url="http://127.0.0.1:9/v1", llm_max_retries="1", llm_retry_base_s="0"
        )
        try:
            with service.client() as client:
                path = real_speech_entries[0]["path"]
                plain = upload(client, path).json()
                wanted = upload(client, path, summarize="true").json()
                assert client.get(f"/v1/jobs/{wanted['id']}/summary").json()["error"]["code"] == "summary_not_ready"
                assert upload(client, path, summarize="perhaps").status_code == 400

                wait_for_job(client, plain["id"])
                none = client.get(f"/v1/jobs/{plain['id']}/summary")
                assert none.status_code == 404 and none.json()["error"]["code"] == "summary_not_requested"

                job = wait_for_summary(client, wanted["id"], timeout_s=120)
                assert job["status"] == "completed" and job["error"] is None
                assert job["summary"]["status"] == "failed" and job["summary"]["error"]["code"] == "llm_unavailable"
                assert "after 2 attempts" in job["summary"]["error"]["message"]
                assert client.get(f"/v1/jobs/{wanted['id']}/transcript").status_code == 200
                failed = client.get(f"/v1/jobs/{wanted['id']}/summary")
                assert failed.status_code == 409 and failed.json()["error"]["code"] == "summary_failed"

                again = client.post(f"/v1/jobs/{wanted['id']}/summary")
                assert again.status_code == 202 and again.json()["summary"]["status"] in ("pending", "running", "failed")
                assert wait_for_summary(client, wanted["id"], timeout_s=120)["summary"]["status"] == "failed"
                assert client.post(f"/v1/jobs/{plain['id']}/summary").status_code == 202
                assert client.post("/v1/jobs/nope/summary").status_code == 404
        finally:
            service.stop()
