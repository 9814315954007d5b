"""The service with S3-compatible storage (a real local S3 server): what the API stores, a
worker on another host reads; deleting a job deletes its objects."""

from __future__ import annotations

import boto3
import pytest

from .conftest import wait_for_job
from .stack import make_stack

pytestmark = [pytest.mark.integration, pytest.mark.model]

BUCKET = "swescribe-it"


@pytest.fixture
def s3(s3_endpoint):
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def keys(s3, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_jobs_flow_through_s3(tmp_path, model_cache, s3, s3_endpoint, real_speech_entries):
    service = make_stack(
        tmp_path / "stack",
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        model_cache,
        auth_disabled="1",
        storage="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=BUCKET,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_prefix="site-a",
    )
    try:
        service.start_api()
        service.start_worker()
        path = real_speech_entries[1]["path"]
        with service.client() as client:
            assert client.get("/readyz").json()["checks"]["storage"] == "ok"
            job_id = client.post("/v1/jobs", files={"file": (path.name, path.read_bytes())}).json()["id"]
            job, _ = wait_for_job(client, job_id)
            assert job["status"] == "completed", job
            assert keys(s3, f"site-a/jobs/{job_id}/") == [
                f"site-a/jobs/{job_id}/audio{path.suffix}",
                f"site-a/jobs/{job_id}/transcript.json",
            ]
            assert client.get(f"/v1/jobs/{job_id}/transcript", params={"format": "txt"}).text.strip()
            assert not (service.storage_dir / "jobs").exists(), "nothing on the local disk"
            assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
            assert keys(s3, f"site-a/jobs/{job_id}/") == []
    finally:
        service.stop()
