"""The web app's security rules: pages need a session, every state change needs the session's
CSRF token, what a transcript or a file name contains is shown as text, and every page carries
the Content-Security-Policy."""

from __future__ import annotations

import pytest

from tests.api.conftest import completed_job, queued_job, wav_bytes
from tests.transcripts import segment, transcript, words
from tests.web.conftest import csrf_of, sign_in
from workers.store import jobs
from workers.store.db import new_id
from workers.store.keys import create_key
from workers.transcript.formats import to_json

HOSTILE = "<script>alert('x')</script>"
HOSTILE_NAME = '<img src=x onerror="alert(1)">.wav'


def hostile_job(api) -> str:
    """A completed job whose file name and transcript carry HTML."""
    job_id = new_id()
    audio_key = f"{jobs.job_prefix(job_id)}/audio.wav"
    stored = api.storage.save_bytes(audio_key, wav_bytes())
    new = jobs.NewJob(
        owner=api.owner,
        filename=HOSTILE_NAME,
        audio_key=audio_key,
        audio_sha256=stored.sha256,
        audio_size_bytes=stored.size_bytes,
        duration_s=0.5,
        options={},
        tenant_id="default",
    )
    jobs.create_job(api.sessions, new, job_id)
    jobs.start_attempt(api.sessions, job_id)
    made = transcript(segment(0, words((0.0, 0.2, HOSTILE), (0.2, 0.4, "&amp;"), (0.4, 0.5, '"><b>fet</b>'))), duration_s=0.5)
    key = jobs.transcript_key(job_id)
    api.storage.save_bytes(key, to_json(made).encode("utf-8"))
    assert jobs.complete_job(api.sessions, job_id, key, 0.5, {"transcribe": 0.1})
    return job_id


@pytest.mark.parametrize("path", ["/jobs", "/upload", "/jobs/abc", "/jobs/abc/audio", "/jobs/abc/download/txt"])
def test_pages_need_a_session(api, path):
    response = api.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")


def test_the_scripts_endpoints_need_a_session(api):
    assert api.client.get("/jobs.json", headers={"Accept": "application/json"}).status_code == 401
    assert api.client.post("/upload", files={"file": ("a.wav", wav_bytes())}).status_code == 401
    assert api.client.post("/jobs/x/delete", data={"csrf": "x"}).status_code == 401


def test_a_bearer_key_is_not_a_session(api):
    response = api.client.get("/jobs", headers=api.auth(), follow_redirects=False)
    assert response.status_code == 303


def test_every_page_carries_the_content_security_policy(web):
    job_id = completed_job(web)
    for path in ("/sign-in", "/jobs", "/upload", f"/jobs/{job_id}", "/jobs/missing"):
        response = web.client.get(path)
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy, path
        assert "frame-ancestors 'none'" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in response.text, path  # scripts only by src, never inline


def test_html_in_a_transcript_and_a_file_name_is_shown_as_text(web):
    job_id = hostile_job(web)
    listing = web.client.get("/jobs").text
    page = web.client.get(f"/jobs/{job_id}").text
    for html in (listing, page):
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;.wav" in html
    assert HOSTILE not in page and "<b>fet</b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&amp;amp;" in page


def test_the_session_cookie_is_httponly_and_strict(api):
    page = api.client.get("/sign-in")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http (tests); https below
    response = api.client.post(
        "/sign-in", data={"key": api.key, "csrf": csrf_of(page.text), "next": "/jobs"}, follow_redirects=False
    )
    assert api.key not in response.headers["set-cookie"]


def test_the_session_cookie_is_secure_over_https(api):
    api.client.base_url = "https://testserver"
    assert "Secure" in api.client.get("/sign-in").headers["set-cookie"]


def test_signing_in_needs_the_forms_token(api):
    api.client.get("/sign-in")
    for data in ({"key": api.key}, {"key": api.key, "csrf": "0" * 64}):
        response = api.client.post("/sign-in", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert api.client.get("/jobs", follow_redirects=False).status_code == 303


def test_a_wrong_key_is_refused(api):
    page = api.client.get("/sign-in")
    response = api.client.post("/sign-in", data={"key": "sws_nope", "csrf": csrf_of(page.text)})
    assert response.status_code == 401
    assert "okänd eller återkallad" in response.text
    assert api.client.get("/jobs", follow_redirects=False).status_code == 303


def test_deleting_needs_the_sessions_token(web):
    job_id = completed_job(web)
    for data in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
        assert web.client.post(f"/jobs/{job_id}/delete", data=data, follow_redirects=False).status_code == 403
    assert jobs.get_job(web.sessions, job_id) is not None
    response = web.client.post(f"/jobs/{job_id}/delete", data={"csrf": web.csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert jobs.get_job(web.sessions, job_id) is None


def test_a_token_from_another_session_is_refused(web):
    job_id = completed_job(web)
    other_token = web.csrf
    web.client.cookies.clear()
    sign_in(web)  # a new session, a new token
    response = web.client.post(f"/jobs/{job_id}/delete", data={"csrf": other_token}, follow_redirects=False)
    assert response.status_code == 403
    assert jobs.get_job(web.sessions, job_id) is not None


def test_a_cross_site_origin_is_refused_even_with_the_token(web):
    job_id = completed_job(web)
    response = web.client.post(
        f"/jobs/{job_id}/delete", data={"csrf": web.csrf}, headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_uploading_needs_the_token_header(web):
    files = {"file": ("möte.wav", wav_bytes(), "audio/wav")}
    assert web.client.post("/upload", files=files).status_code == 403
    assert web.client.post("/upload", files=files, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert web.job_count() == 0


def test_signing_out_and_choosing_a_language_need_the_token(web):
    assert web.client.post("/sign-out", data={}, follow_redirects=False).status_code == 403
    assert web.client.post("/language", data={"lang": "en"}, follow_redirects=False).status_code == 403
    assert web.client.get("/jobs", follow_redirects=False).status_code == 200


def test_signing_out_ends_the_session(web):
    response = web.client.post("/sign-out", data={"csrf": web.csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert web.client.get("/jobs", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_session(web):
    assert web.client.get("/jobs", follow_redirects=False).status_code == 200
    web.revoke(web.owner)
    assert web.client.get("/jobs", follow_redirects=False).status_code == 303
    assert web.client.get("/jobs.json", headers={"Accept": "application/json"}).status_code == 401


def test_a_forged_cookie_is_no_session(api):
    api.client.cookies.set("swescribe_session", "eyJuIjoieCIsImsiOiJ5In0.forged.sig")
    assert api.client.get("/jobs", follow_redirects=False).status_code == 303


def test_another_tenants_job_is_not_found(web):
    theirs = completed_job(web, owner=web.other_owner)
    assert web.client.get(f"/jobs/{theirs}").status_code == 404
    assert web.client.get(f"/jobs/{theirs}/audio").status_code == 404
    assert web.client.get(f"/jobs/{theirs}/download/txt").status_code == 404
    assert theirs not in web.client.get("/jobs").text
    assert web.client.post(f"/jobs/{theirs}/delete", data={"csrf": web.csrf}).status_code == 404
    assert jobs.get_job(web.sessions, theirs) is not None


def test_an_uploader_sees_only_its_own_jobs_and_may_not_delete(web):
    record, key = create_key(web.sessions, "skanner", "default", "uploader")
    mine = queued_job(web)
    web.client.cookies.clear()
    csrf = sign_in(web, key)
    assert mine not in web.client.get("/jobs").text
    theirs = queued_job(web, owner=record.id)
    page = web.client.get("/jobs").text
    assert theirs in page and "/delete" not in page
    assert web.client.post(f"/jobs/{theirs}/delete", data={"csrf": csrf}).status_code == 403


def test_after_signing_in_only_a_local_path_is_followed(api):
    page = api.client.get("/sign-in")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = api.client.post(
            "/sign-in", data={"key": api.key, "csrf": csrf_of(page.text), "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/jobs", target
        api.client.cookies.clear()
        page = api.client.get("/sign-in")


def test_the_origin_may_say_https_behind_a_proxy_that_ends_tls(web):
    job_id = completed_job(web)
    response = web.client.post(
        f"/jobs/{job_id}/delete", data={"csrf": web.csrf}, headers={"Origin": "https://testserver"}, follow_redirects=False
    )
    assert response.status_code == 303
