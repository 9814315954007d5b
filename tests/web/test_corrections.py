"""Correcting in the web app: naming speakers, editing segment texts into a new revision, the
revision list and the word diff; CSRF on every POST, escaping, tenants."""

from __future__ import annotations

from tests.api.conftest import completed_job
from tests.web.conftest import csrf_of
from workers.store import revisions


def test_speakers_are_named_and_the_page_and_downloads_show_the_names(web):
    job_id = completed_job(web, options={"diarize": True}, diarized=True)
    edit = web.client.get(f"/jobs/{job_id}/edit")
    assert edit.status_code == 200 and 'for="speaker-1"' in edit.text and 'for="seg-0"' in edit.text
    saved = web.client.post(
        f"/jobs/{job_id}/speakers",
        data={"csrf": csrf_of(edit.text), "label": ["Talare 1", "Talare 2"], "name": ["Anna <b>Berg</b>", ""]},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert revisions.speaker_names(web.sessions, job_id) == {"Talare 1": "Anna <b>Berg</b>"}
    page = web.client.get(f"/jobs/{job_id}").text
    assert "Anna &lt;b&gt;Berg&lt;/b&gt;:" in page and "<b>Berg" not in page
    assert "Anna <b>Berg</b>: Hej alla" in web.client.get(f"/jobs/{job_id}/download/txt").text


def test_a_corrected_segment_is_a_new_revision_with_a_word_diff(web):
    job_id = completed_job(web)
    edit = web.client.get(f"/jobs/{job_id}/edit").text
    assert "Hej alla</textarea>" in edit
    saved = web.client.post(
        f"/jobs/{job_id}/revisions",
        data={
            "csrf": csrf_of(edit),
            "base_revision": "0",
            "seg-0": "Hej alla",
            "seg-1": "Mötet <script>startar</script>",
            "note": "ord",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/jobs/{job_id}/revisions/1"
    diff = web.client.get(saved.headers["location"]).text
    assert "<del>börjar</del>" in diff and "<ins>&lt;script&gt;startar&lt;/script&gt;</ins>" in diff
    assert "Hej alla" not in diff, "unchanged segments are left out"
    page = web.client.get(f"/jobs/{job_id}").text
    assert f'href="/jobs/{job_id}/revisions/1"' in page and "startar" in page
    assert "startar" in web.client.get(f"/jobs/{job_id}/download/txt").text
    # Saved again from the stale page: a conflict, said on a page.
    again = web.client.post(
        f"/jobs/{job_id}/revisions", data={"csrf": csrf_of(edit), "base_revision": "0", "seg-0": "Hej du"}, follow_redirects=False
    )
    assert again.status_code == 409
    unchanged = web.client.post(
        f"/jobs/{job_id}/revisions",
        data={"csrf": csrf_of(edit), "base_revision": "1", "seg-0": "Hej alla"},
        follow_redirects=False,
    )
    assert unchanged.status_code == 422
    assert revisions.latest_revision(web.sessions, job_id) == 1
    for missing in (7, -1, 2**40):
        assert web.client.get(f"/jobs/{job_id}/revisions/{missing}").status_code == 404


def test_corrections_need_the_csrf_token_and_stay_in_the_tenant(web):
    job_id = completed_job(web, options={"diarize": True}, diarized=True)
    for path, data in (
        (f"/jobs/{job_id}/speakers", {"label": "Talare 1", "name": "A"}),
        (f"/jobs/{job_id}/revisions", {"base_revision": "0", "seg-0": "x"}),
    ):
        assert web.client.post(path, data=data, follow_redirects=False).status_code == 403
        assert web.client.post(path, data={**data, "csrf": "forged"}, follow_redirects=False).status_code == 403
    assert revisions.speaker_names(web.sessions, job_id) == {} and revisions.latest_revision(web.sessions, job_id) == 0
    theirs = completed_job(web, owner=web.other_owner)
    assert web.client.get(f"/jobs/{theirs}/edit").status_code == 404
    assert web.client.get(f"/jobs/{theirs}/revisions/0").status_code == 404
    csrf = csrf_of(web.client.get("/jobs").text)
    assert (
        web.client.post(f"/jobs/{theirs}/revisions", data={"csrf": csrf, "base_revision": "0", "seg-0": "x"}).status_code == 404
    )
