"""Tenants, roles, admin endpoints, the audit trail, legal hold, purged content and webhook
secret rotation, through the in-process API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from tests.api.conftest import assert_error, completed_job, job_with_summary
from workers.runners.purge import PurgeOptions, purge
from workers.store import audit, jobs
from workers.store.db import DEFAULT_TENANT, utcnow
from workers.store.keys import create_key
from workers.webhooks import store as webhook_store
from workers.webhooks.delivery import signing_secrets
from workers.webhooks.signing import signed_headers


def key_of(api, role: str, tenant: str = DEFAULT_TENANT) -> tuple[str, str]:
    record, key = create_key(api.sessions, f"{role}-key", tenant, role)
    return record.id, key


def events(api, **filters) -> list[dict]:
    response = api.client.get("/v1/admin/audit", params={"limit": 1000, **filters}, headers=api.auth())
    assert response.status_code == 200, response.text
    return [e for e in response.json()["events"] if e["action"] != audit.Action.ADMIN_LISTED]


def test_members_see_the_tenants_jobs_uploaders_only_their_own_and_other_tenants_nothing(api):
    member_id, member = key_of(api, "member")
    uploader_id, uploader = key_of(api, "uploader")
    admins_job = completed_job(api)
    uploaders_job = completed_job(api, owner=uploader_id)
    theirs = completed_job(api, owner=api.other_owner)

    def listed(key):
        return sorted(j["id"] for j in api.client.get("/v1/jobs", headers=api.auth(key)).json()["jobs"])

    assert listed(member) == listed(api.key) == sorted([admins_job, uploaders_job])
    assert listed(uploader) == [uploaders_job]
    assert listed(api.other_key) == [theirs]
    assert api.client.get(f"/v1/jobs/{admins_job}/transcript", headers=api.auth(member)).status_code == 200
    assert_error(api.client.get(f"/v1/jobs/{admins_job}", headers=api.auth(uploader)), 404, "job_not_found")
    assert_error(api.client.get(f"/v1/jobs/{theirs}/transcript", headers=api.auth(member)), 404, "job_not_found")
    # An uploader reads but does not delete, even its own job; a member deletes the tenant's.
    assert_error(api.client.delete(f"/v1/jobs/{uploaders_job}", headers=api.auth(uploader)), 403, "forbidden")
    assert api.client.delete(f"/v1/jobs/{uploaders_job}", headers=api.auth(member)).status_code == 204
    # Uploads land in the caller's tenant.
    created = api.upload(key=uploader, fields={"reference": "Dnr 2026:17"}).json()
    assert jobs.get_job(api.sessions, created["id"]).tenant_id == DEFAULT_TENANT
    assert created["reference"] == "Dnr 2026:17"


@pytest.mark.parametrize("role", ["member", "uploader"])
def test_admin_routes_need_an_admin(api, role):
    _id, key = key_of(api, role)
    job_id = completed_job(api)
    for method, path in [
        ("GET", "/v1/admin/keys"),
        ("POST", "/v1/admin/keys"),
        ("DELETE", f"/v1/admin/keys/{api.owner}"),
        ("GET", "/v1/admin/retention"),
        ("PUT", "/v1/admin/retention"),
        ("GET", "/v1/admin/audit"),
        ("GET", "/v1/admin/jobs"),
        ("POST", f"/v1/jobs/{job_id}/hold"),
        ("DELETE", f"/v1/jobs/{job_id}/hold"),
    ]:
        assert_error(api.client.request(method, path, headers=api.auth(key), json={}), 403, "forbidden")


def test_an_admin_creates_lists_and_revokes_the_tenants_keys(api):
    created = api.client.post("/v1/admin/keys", json={"name": "ärendesystem v2", "role": "uploader"}, headers=api.auth())
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["key"].startswith("sws_") and (new["role"], new["tenant_id"]) == ("uploader", DEFAULT_TENANT)
    listed = api.client.get("/v1/admin/keys", headers=api.auth()).json()["keys"]
    assert sorted(k["id"] for k in listed) == sorted([api.owner, new["id"]])
    assert all("key" not in k and "key_hash" not in k for k in listed)
    # Old and new work side by side until the old one is revoked.
    assert api.client.get("/v1/jobs", headers=api.auth(new["key"])).status_code == 200
    assert api.client.delete(f"/v1/admin/keys/{new['id']}", headers=api.auth()).status_code == 204
    assert_error(api.client.get("/v1/jobs", headers=api.auth(new["key"])), 401, "unauthorized")
    assert_error(api.client.delete(f"/v1/admin/keys/{new['id']}", headers=api.auth()), 409, "key_revoked")
    # Another tenant's key is not found; the last admin cannot lock the tenant out.
    assert_error(api.client.delete(f"/v1/admin/keys/{api.other_owner}", headers=api.auth()), 404, "key_not_found")
    assert_error(api.client.delete(f"/v1/admin/keys/{api.owner}", headers=api.auth()), 409, "last_admin")
    assert_error(api.client.post("/v1/admin/keys", json={"name": "x", "role": "owner"}, headers=api.auth()), 422)
    assert_error(api.client.post("/v1/admin/keys", json={"name": ""}, headers=api.auth()), 422)
    actions = [(e["action"], e["object_id"]) for e in events(api, action="key.")]
    assert actions == [("key.created", new["id"]), ("key.revoked", new["id"])]


def test_retention_is_per_tenant_with_the_operators_defaults(api):
    assert api.client.get("/v1/admin/retention", headers=api.auth()).json() == {
        "audio_hours": 168,
        "results_days": 30,
        "audio_hours_default": True,
        "results_days_default": True,
    }
    changed = api.client.put("/v1/admin/retention", json={"audio_hours": 24, "results_days": 0}, headers=api.auth())
    assert changed.json() == {"audio_hours": 24, "results_days": 0, "audio_hours_default": False, "results_days_default": False}
    other = api.client.get("/v1/admin/retention", headers=api.auth(api.other_key)).json()
    assert (other["audio_hours"], other["results_days"]) == (168, 30), "another tenant is untouched"
    assert_error(api.client.put("/v1/admin/retention", json={"audio_hours": -1}, headers=api.auth()), 422)
    assert_error(api.client.put("/v1/admin/retention", json={"results_days": "lång"}, headers=api.auth()), 422)
    [event] = events(api, action="retention.changed")
    assert event["detail"] == {"audio_hours": 24, "results_days": 0}


def test_a_held_job_is_neither_deleted_nor_purged_and_purged_content_is_gone_with_the_reason(api):
    held = job_with_summary(api, "completed")
    loose = job_with_summary(api, "completed")
    assert api.client.post(f"/v1/jobs/{held}/hold", headers=api.auth()).json()["legal_hold"] is True
    assert_error(api.client.delete(f"/v1/jobs/{held}", headers=api.auth()), 409, "legal_hold")
    assert_error(api.client.post(f"/v1/jobs/{held}/hold", headers=api.auth(api.other_key)), 404, "job_not_found")
    later = utcnow() + timedelta(days=31)
    purged = purge(api.sessions, api.storage, PurgeOptions(168, 30), now=lambda: later)
    assert purged.results == [loose]
    for path in ("transcript", "transcript?format=txt", "summary"):
        error = assert_error(api.client.get(f"/v1/jobs/{loose}/{path}", headers=api.auth()), 410)
        assert error["code"].endswith("_purged") and "retention" in error["message"]
    job = api.client.get(f"/v1/jobs/{loose}", headers=api.auth()).json()
    assert job["status"] == "completed" and job["audio_purged_at"] and job["results_purged_at"]
    assert api.client.get(f"/v1/jobs/{held}/transcript", headers=api.auth()).status_code == 200
    assert api.client.delete(f"/v1/jobs/{held}/hold", headers=api.auth()).json()["legal_hold"] is False
    assert api.client.delete(f"/v1/jobs/{held}", headers=api.auth()).status_code == 204
    actions = [e["action"] for e in events(api) if e["object_id"] in (held, loose)]
    assert actions.count("hold.set") == actions.count("hold.released") == 1 and "job.deleted" in actions
    assert actions.count("job.purged") == 2


def test_the_audit_trail_records_reads_and_refusals_without_personal_data(api):
    job_id = completed_job(api)
    api.client.get(f"/v1/jobs/{job_id}/transcript?format=srt", headers={**api.auth(), "User-Agent": "arendesystem/2.1"})
    api.client.get("/v1/jobs", headers={"Authorization": "Bearer sws_wrong"})
    revoked_id, revoked = key_of(api, "member")
    api.client.delete(f"/v1/admin/keys/{revoked_id}", headers=api.auth())
    api.client.get("/v1/jobs", headers=api.auth(revoked))
    uploaded = api.upload(filename="Anna Svensson 19121212-1212.wav", fields={"reference": "19121212-1212"}).json()["id"]

    [read] = events(api, action="transcript.read")
    assert (read["key_id"], read["object_id"], read["detail"], read["outcome"]) == (
        api.owner,
        job_id,
        {"format": "srt", "revision": 0},
        "ok",
    )
    assert read["user_agent"] == "arendesystem/2.1" and read["client"] == "testclient"
    [refused] = events(api, action="auth.failed")  # the revoked key's tenant sees it; the unknown one has no tenant
    assert (refused["key_id"], refused["outcome"], refused["detail"]["reason"]) == (revoked_id, "denied", "revoked_key")
    assert [e["object_id"] for e in events(api, action="job.created")] == [uploaded]

    export = api.client.get("/v1/admin/audit", params={"format": "jsonl"}, headers=api.auth())
    assert export.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(lines, lines[1:], strict=False))
    assert "19121212" not in export.text and "Svensson" not in export.text, "no file names or references"
    assert audit.verify(api.sessions) == (audit.verify(api.sessions)[0], [])
    # Another tenant's admin sees none of it.
    theirs = api.client.get("/v1/admin/audit", headers=api.auth(api.other_key)).json()["events"]
    assert {e["tenant_id"] for e in theirs} <= {
        api.client.get("/v1/admin/keys", headers=api.auth(api.other_key)).json()["keys"][0]["tenant_id"]
    }
    assert not any(e["object_id"] == job_id for e in theirs)
    assert_error(api.client.get("/v1/admin/audit", params={"since": "igår"}, headers=api.auth()), 422)


def test_admins_find_every_job_of_a_case_reference(api):
    first = api.upload(fields={"reference": "Dnr 2026:42"}).json()["id"]
    second = api.upload(fields={"reference": "Dnr 2026:42"}).json()["id"]
    api.upload(fields={"reference": "Dnr 2026:43"})
    api.upload(key=api.other_key, fields={"reference": "Dnr 2026:42"})
    found = api.client.get("/v1/admin/jobs", params={"reference": "Dnr 2026:42"}, headers=api.auth()).json()
    assert sorted(j["id"] for j in found["jobs"]) == sorted([first, second]) and found["total"] == 2
    assert_error(api.upload(fields={"reference": "a\x01b"}), 400, "invalid_option")
    assert_error(api.upload(fields={"reference": "x" * 201}), 400, "invalid_option")


def test_a_rotated_webhook_secret_signs_beside_the_old_one_until_it_is_retired(api):
    old = api.client.put("/v1/webhook", json={"url": None}, headers=api.auth()).json()["secret"]
    assert_error(api.client.delete("/v1/webhook/secret/previous", headers=api.auth()), 404, "no_previous_secret")
    rotated = api.client.post("/v1/webhook/secret/rotate", headers=api.auth()).json()
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_") and rotated["previous_secret_active"] is True
    assert api.client.get("/v1/webhook", headers=api.auth()).json()["secret"] is None
    body = b'{"type":"job.completed"}'
    endpoint = webhook_store.get_endpoint(api.sessions, api.owner)
    ts = int(utcnow().timestamp())
    headers = signed_headers(signing_secrets(endpoint), "msg_1", ts, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # receivers on either secret verify during the overlap
        assert Webhook(secret).verify(body.decode(), headers) == {"type": "job.completed"}
    assert api.client.delete("/v1/webhook/secret/previous", headers=api.auth()).status_code == 204
    headers = signed_headers(signing_secrets(webhook_store.get_endpoint(api.sessions, api.owner)), "msg_2", ts, body)
    Webhook(new).verify(body.decode(), headers)
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(old).verify(body.decode(), headers)
    assert_error(api.client.post("/v1/webhook/secret/rotate", headers=api.auth(api.other_key)), 404, "no_webhook")
    assert [e["action"] for e in events(api, action="webhook.")] == [
        "webhook.changed",
        "webhook.secret_rotated",
        "webhook.secret_retired",
    ]


def test_an_admin_sets_and_rotates_the_webhook_of_a_key_in_the_tenant(api):
    uploader_id, uploader = key_of(api, "uploader")
    created = api.client.put(f"/v1/admin/keys/{uploader_id}/webhook", json={"url": None}, headers=api.auth())
    assert created.status_code == 200, created.text
    first = created.json()["secret"]
    assert first.startswith("whsec_") and created.json()["key_id"] == uploader_id
    # The uploader's own view is the same endpoint; it may upload with a per-job webhook_url now.
    assert api.client.get("/v1/webhook", headers=api.auth(uploader)).json()["secret"] is None
    rotated = api.client.post(f"/v1/admin/keys/{uploader_id}/webhook/secret/rotate", headers=api.auth()).json()
    assert rotated["secret"] != first and rotated["previous_secret_active"] is True
    listed = api.client.get("/v1/admin/webhooks", headers=api.auth()).json()["webhooks"]
    assert [(w["key_id"], w["secret"], w["previous_secret_active"]) for w in listed] == [(uploader_id, None, True)]
    assert api.client.delete(f"/v1/admin/keys/{uploader_id}/webhook/secret/previous", headers=api.auth()).status_code == 204
    # Another tenant's key is not found; a member may not.
    assert_error(api.client.put(f"/v1/admin/keys/{api.other_owner}/webhook", json={}, headers=api.auth()), 404, "key_not_found")
    assert_error(api.client.post(f"/v1/admin/keys/{uploader_id}/webhook/secret/rotate", headers=api.auth(uploader)), 403)
    assert_error(
        api.client.put(f"/v1/admin/keys/{uploader_id}/webhook", json={"url": "http://127.0.0.1/x"}, headers=api.auth()), 400
    )
    assert [e["object_id"] for e in events(api, action="webhook.")] == [uploader_id] * 3
