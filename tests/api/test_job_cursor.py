"""GET /v1/jobs by cursor: pages walk the caller's listing exactly once, a malformed or foreign
cursor is a 400 saying why (never a 500), and a cursor from one tenant's listing shows nothing
in another's; /metrics reports the same figures as a count row by row."""

from __future__ import annotations

import base64
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import assert_error, completed_job, failed_job, queued_job
from tests.api.test_exposure import NO_BROKER, TOKEN
from workers.store.db import DEFAULT_TENANT
from workers.store.keys import create_key


@pytest.fixture
def settings_overrides(request) -> dict:
    return getattr(request, "param", {})


def walk(api, key: str, limit: int, query: str = "") -> list[str]:
    seen, cursor = [], None
    for _ in range(100):
        url = f"/v1/jobs?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = api.client.get(url, headers=api.auth(key))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [j["id"] for j in body["jobs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        assert all(c.isalnum() or c in "-_" for c in cursor), cursor  # url-safe as it is
    raise AssertionError("the walk did not end")


def test_cursor_pages_walk_every_job_once_newest_first(api):
    _, uploader = create_key(api.sessions, "uploader", DEFAULT_TENANT, "uploader")
    made = [completed_job(api), failed_job(api), queued_job(api), completed_job(api, owner=_.id), failed_job(api)]
    listed = api.client.get("/v1/jobs?limit=200", headers=api.auth()).json()
    assert listed["next_cursor"] is None and listed["total"] == 5
    newest_first = [j["id"] for j in listed["jobs"]]
    assert sorted(newest_first) == sorted(made)
    created = [j["created_at"] for j in listed["jobs"]]
    assert created == sorted(created, reverse=True)
    for limit in (1, 2, 3):
        assert walk(api, api.key, limit) == newest_first
    failed = [made[4], made[1]]
    assert walk(api, api.key, 1, "&status=failed") == failed
    assert walk(api, uploader, 1) == [made[3]]
    # An offset page's next_cursor goes on from it.
    second = api.client.get("/v1/jobs?limit=2&offset=1", headers=api.auth()).json()
    rest = api.client.get(f"/v1/jobs?limit=200&cursor={second['next_cursor']}", headers=api.auth()).json()
    assert [j["id"] for j in second["jobs"] + rest["jobs"]] == newest_first[1:]


def _b64(body) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["", "%00", "not%20base64", "////", "eyJ", _b64({"t": 1, "i": "a"}), _b64({"t": 10**40, "i": "a", "f": "x"}), _b64("x")],
)
def test_a_malformed_cursor_is_a_400_saying_why(api, cursor):
    completed_job(api)
    error = assert_error(api.client.get(f"/v1/jobs?cursor={cursor}", headers=api.auth()), 400, "invalid_cursor")
    assert "cursor" in error["message"]


def test_an_overlong_cursor_or_one_with_an_offset_is_refused(api):
    assert_error(api.client.get("/v1/jobs?cursor=" + "a" * 201, headers=api.auth()), 422, "invalid_request")
    completed_job(api), completed_job(api)
    first = api.client.get("/v1/jobs?limit=1", headers=api.auth()).json()
    response = api.client.get(f"/v1/jobs?limit=1&offset=1&cursor={first['next_cursor']}", headers=api.auth())
    assert_error(response, 400, "invalid_cursor")


def test_a_cursor_from_one_tenants_listing_shows_nothing_in_anothers(api):
    ours = [completed_job(api) for _ in range(3)]
    theirs = [completed_job(api, owner=api.other_owner) for _ in range(3)]
    page = api.client.get("/v1/jobs?limit=1", headers=api.auth()).json()
    cursor = page["next_cursor"]
    # The cursor names no tenant and no job in a readable form.
    raw = base64.urlsafe_b64decode(cursor + "==").decode()
    assert DEFAULT_TENANT not in raw and not any(j in raw for j in ours[:2])
    refused = api.client.get(f"/v1/jobs?cursor={cursor}", headers=api.auth(api.other_key))
    error = assert_error(refused, 400, "invalid_cursor")
    assert not any(j in json.dumps(error) for j in ours + theirs)
    # Nor does a status filter or an uploader's own listing take a cursor of the whole tenant's.
    assert_error(api.client.get(f"/v1/jobs?status=failed&cursor={cursor}", headers=api.auth()), 400, "invalid_cursor")
    _, uploader = create_key(api.sessions, "uploader", DEFAULT_TENANT, "uploader")
    assert_error(api.client.get(f"/v1/jobs?cursor={cursor}", headers=api.auth(uploader)), 400, "invalid_cursor")
    # Their own cursor walks only their own jobs.
    assert sorted(walk(api, api.other_key, 1)) == sorted(theirs)


@pytest.mark.parametrize("settings_overrides", [{"metrics_token": TOKEN, "redis_url": NO_BROKER}], indirect=True)
def test_metrics_figures_equal_a_count_row_by_row(api):
    made = [completed_job(api), completed_job(api), failed_job(api), queued_job(api), completed_job(api, owner=api.other_owner)]
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    listed = [api.client.get(f"/v1/jobs/{j}", headers=api.auth()).json() for j in made[:4]]
    listed.append(api.client.get(f"/v1/jobs/{made[4]}", headers=api.auth(api.other_key)).json())
    for status in ("queued", "running", "completed", "failed"):
        count = sum(j["status"] == status for j in listed)
        assert samples[("swescribe_jobs", (("status", status),))] == count
    audio = sum(j["duration_s"] for j in listed if j["status"] == "completed")
    assert samples[("swescribe_audio_processed_seconds_total", ())] == pytest.approx(audio)
    other_tenant = api.client.get(f"/v1/jobs/{made[4]}", headers=api.auth(api.other_key)).json()
    assert other_tenant["status"] == "completed"
    hours = {dict(k[1]).get("tenant"): v for k, v in samples.items() if k[0] == "swescribe_tenant_audio_hours_total"}
    assert hours[DEFAULT_TENANT] == pytest.approx(2 * 2.5 / 3600)
    assert sum(hours.values()) == pytest.approx(audio / 3600)
    stages = {dict(k[1])["stage"]: v for k, v in samples.items() if k[0] == "swescribe_stage_duration_seconds_total"}
    assert stages == pytest.approx({"decode": 0.3, "transcribe": 3.0, "store": 0.03})


def test_the_admin_listing_by_reference_pages_by_cursor_too(api):
    made = [api.upload(fields={"reference": "ärende 7"}).json()["id"] for _ in range(3)]
    api.upload(fields={"reference": "ärende 8"})
    seen, cursor = [], None
    for _ in range(5):
        url = "/v1/admin/jobs?reference=ärende 7&limit=1" + (f"&cursor={cursor}" if cursor else "")
        body = api.client.get(url, headers=api.auth()).json()
        assert body["total"] == 3
        seen += [j["id"] for j in body["jobs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    # A cursor of one reference's listing is no position in another's.
    first = api.client.get("/v1/admin/jobs?reference=ärende 7&limit=1", headers=api.auth()).json()
    other = api.client.get(f"/v1/admin/jobs?reference=ärende 8&cursor={first['next_cursor']}", headers=api.auth())
    assert_error(other, 400, "invalid_cursor")
