"""API keys: every /v1 route refuses a missing, unknown or revoked key with 401, and a key
never sees another key's job (404, as if it did not exist)."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, completed_job, job_with_summary, wav_bytes
from workers.store import jobs

JOB = "0123456789abcdef0123456789abcdef"

# (method, path, request kwargs) for every route that needs a key.
KEYED_ROUTES = [
    ("POST", "/v1/jobs", {"files": {"file": ("a.wav", b"x")}}),
    ("GET", "/v1/jobs", {}),
    ("GET", f"/v1/jobs/{JOB}", {}),
    ("GET", f"/v1/jobs/{JOB}/transcript", {}),
    ("GET", f"/v1/jobs/{JOB}/summary", {}),
    ("POST", f"/v1/jobs/{JOB}/summary", {}),
    ("DELETE", f"/v1/jobs/{JOB}", {}),
    ("GET", f"/v1/jobs/{JOB}/deliveries", {}),
    ("POST", f"/v1/jobs/{JOB}/webhook/redeliver", {}),
    ("PUT", "/v1/webhook", {"json": {"url": None}}),
    ("GET", "/v1/webhook", {}),
    ("POST", "/v1/audio/transcriptions", {"files": {"file": ("a.wav", b"x")}, "data": {"model": "whisper-1"}}),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer sws_not-a-key", "sws_not-a-key"],
    ids=["no-header", "empty", "bearer-only", "bearer-blank", "basic", "unknown-key", "no-scheme"],
)
def test_every_route_needs_a_valid_key(api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path, kwargs in KEYED_ROUTES:
        response = api.client.request(method, path, headers=headers, **kwargs)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer", (method, path)
    assert api.job_count() == 0 and api.leftovers() == [] and api.broker.enqueued == []


def test_a_revoked_key_is_refused_and_the_other_keys_still_work(api):
    assert api.client.get("/v1/jobs", headers=api.auth()).status_code == 200
    api.revoke(api.owner)
    assert_error(api.client.get("/v1/jobs", headers=api.auth()), 401, "unauthorized")
    assert_error(api.upload(), 401, "unauthorized")
    assert api.job_count() == 0 and api.broker.enqueued == []
    assert api.client.get("/v1/jobs", headers=api.auth(api.other_key)).status_code == 200


def test_the_scheme_is_case_insensitive_and_surrounding_blanks_are_ignored(api):
    response = api.client.get("/v1/jobs", headers={"Authorization": f"bearer   {api.key} "})
    assert response.status_code == 200, response.text


def test_health_needs_no_key(api):
    assert api.client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("GET", ""),
        ("GET", "/transcript"),
        ("GET", "/transcript?format=txt"),
        ("GET", "/summary"),
        ("POST", "/summary"),
        ("GET", "/deliveries"),
        ("POST", "/webhook/redeliver"),
        ("DELETE", ""),
    ],
)
def test_another_keys_job_is_not_found(api, method, suffix):
    theirs = job_with_summary(api, "completed")  # everything exists: only ownership can refuse it
    jobs_row = jobs.get_job(api.sessions, theirs)
    assert jobs_row.owner == api.owner
    for job_id in (theirs, JOB):  # another key's job and a job that never existed look the same
        response = api.client.request(method, f"/v1/jobs/{job_id}{suffix}", headers=api.auth(api.other_key))
        error = assert_error(response, 404, "job_not_found")
        assert job_id in error["message"]
    # Nothing changed for the owner.
    assert api.client.get(f"/v1/jobs/{theirs}/transcript", headers=api.auth()).status_code == 200
    assert api.client.get(f"/v1/jobs/{theirs}/summary", headers=api.auth()).status_code == 200
    assert api.broker.tasks == []


def test_a_key_lists_only_its_own_jobs(api):
    mine = completed_job(api)
    completed_job(api, owner=api.other_owner)
    listed = api.client.get("/v1/jobs", headers=api.auth()).json()
    assert [j["id"] for j in listed["jobs"]] == [mine] and listed["total"] == 1


def test_an_upload_with_a_refused_key_reads_nothing_and_stores_nothing(api):
    response = api.client.post("/v1/jobs", files={"file": ("a.wav", wav_bytes())}, headers={"Authorization": "Bearer sws_wrong"})
    assert_error(response, 401, "unauthorized")
    assert api.job_count() == 0 and api.leftovers() == [] and api.broker.enqueued == []


def test_unknown_paths_and_methods_keep_the_error_shape(api):
    assert_error(api.client.get("/v1/nothing-here", headers=api.auth()), 404, "not_found")
    assert_error(api.client.patch("/v1/jobs", headers=api.auth()), 405, "method_not_allowed")
