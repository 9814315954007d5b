"""GET /v1/jobs/{id}/audio?redacted=true: the toned copy of a job with redact_audio."""

from __future__ import annotations

from tests.api.conftest import assert_error, completed_job, queued_job
from workers.store import jobs


def test_the_redacted_copy_is_served_as_flac(api):
    job_id = completed_job(api, options={"redact_audio": True})
    api.storage.save_bytes(jobs.redacted_audio_key(job_id), b"fLaC-toned-copy")
    response = api.client.get(f"/v1/jobs/{job_id}/audio?redacted=true", headers=api.auth())
    assert response.status_code == 200
    assert response.content == b"fLaC-toned-copy"
    assert response.headers["content-type"] == "audio/flac"
    assert ".redacted.flac" in response.headers["content-disposition"]


def test_refusals(api):
    job_id = completed_job(api, options={"redact_audio": True})
    assert_error(api.client.get(f"/v1/jobs/{job_id}/audio", headers=api.auth()), 400, "invalid_option")
    assert_error(api.client.get(f"/v1/jobs/{job_id}/audio?redacted=true", headers=api.auth()), 410, "audio_gone")
    plain = completed_job(api, options={"redact": True})
    assert_error(api.client.get(f"/v1/jobs/{plain}/audio?redacted=true", headers=api.auth()), 404, "redacted_audio_not_requested")
    waiting = queued_job(api, options={"redact_audio": True})
    assert_error(api.client.get(f"/v1/jobs/{waiting}/audio?redacted=true", headers=api.auth()), 409, "audio_not_ready")
    assert_error(api.client.get("/v1/jobs/nope/audio?redacted=true", headers=api.auth()), 404)
