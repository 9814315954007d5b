"""GET /v1/jobs, a job, its transcript and summary, asking for a summary, deleting: the 4xx of
each, with jobs in every state written through the job store as a worker would."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import assert_error, completed_job, failed_job, job_with_summary, queued_job
from workers.store import jobs
from workers.tasks.names import CPU_QUEUE, SUMMARIZE_TASK


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "offset=-1",
        "offset=x",
        "status=done",
        "limit=99999999999999999999999",
        "offset=99999999999999999999999",
        "offset=9223372036854775808",
    ],
)
def test_list_query_bounds_are_refused_not_crashed(api, query):
    response = api.client.get(f"/v1/jobs?{query}", headers=api.auth())
    assert_error(response, 422, "invalid_request")


def test_list_pages_through_the_callers_jobs(api):
    made = [completed_job(api), failed_job(api), queued_job(api)]
    first = api.client.get("/v1/jobs?limit=2", headers=api.auth()).json()
    rest = api.client.get("/v1/jobs?limit=2&offset=2", headers=api.auth()).json()
    assert (first["total"], first["limit"], first["offset"], len(first["jobs"])) == (3, 2, 0, 2)
    assert sorted(j["id"] for j in first["jobs"] + rest["jobs"]) == sorted(made)
    failed = api.client.get("/v1/jobs?status=failed", headers=api.auth()).json()
    assert [j["id"] for j in failed["jobs"]] == [made[1]]
    assert failed["jobs"][0]["error"] == {"code": "audio_decode_error", "message": "möte.wav: cannot decode audio: cut off"}
    beyond = api.client.get("/v1/jobs?offset=1000", headers=api.auth()).json()
    assert beyond["jobs"] == [] and beyond["total"] == 3
    largest = api.client.get(f"/v1/jobs?offset={2**31 - 1}", headers=api.auth())
    assert largest.status_code == 200 and largest.json()["jobs"] == []


@pytest.mark.parametrize("job_id", ["nope", "0" * 32, "x" * 300, "%20", "..%2F..%2Fetc"])
def test_an_unknown_job_is_not_found(api, job_id):
    for suffix in ("", "/transcript", "/summary", "/deliveries"):
        response = api.client.get(f"/v1/jobs/{job_id}{suffix}", headers=api.auth())
        assert response.status_code == 404, (suffix, response.text)
        assert_error(response, 404)


def test_a_completed_job_shows_its_state(api):
    job_id = completed_job(api)
    body = api.client.get(f"/v1/jobs/{job_id}", headers=api.auth()).json()
    assert (body["status"], body["stage"], body["progress"], body["error"]) == ("completed", "done", 1.0, None)
    assert body["summary"] == {"status": "none", "error": None}
    assert body["real_time_factor"] == pytest.approx((0.1 + 1.0 + 0.01) / 2.5, abs=1e-3)


@pytest.mark.parametrize("state", ["queued", "running", "failed"])
def test_the_transcript_of_an_unfinished_or_failed_job_is_not_ready(api, state):
    job_id = failed_job(api) if state == "failed" else queued_job(api)
    if state == "running":
        jobs.start_attempt(api.sessions, job_id)
    for fmt in ("json", "txt", "rttm"):
        error = assert_error(
            api.client.get(f"/v1/jobs/{job_id}/transcript?format={fmt}", headers=api.auth()), 409, "transcript_not_ready"
        )
        assert state in error["message"]


def test_the_transcript_in_every_format(api):
    job_id = completed_job(api)
    response = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth())
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert [s["text"] for s in response.json()["segments"]] == ["Hej alla", "Mötet börjar"]
    text = api.client.get(f"/v1/jobs/{job_id}/transcript?format=txt", headers=api.auth())
    assert text.text == "[00:00] Hej alla Mötet börjar\n"  # unpunctuated, no pause: one paragraph
    plain = api.client.get(f"/v1/jobs/{job_id}/transcript?format=txt-plain", headers=api.auth())
    assert plain.text == "Hej alla Mötet börjar\n" and plain.headers["content-type"] == "text/plain; charset=utf-8"
    srt = api.client.get(f"/v1/jobs/{job_id}/transcript?format=srt", headers=api.auth()).text
    assert srt.startswith("1\n00:00:00,000 --> ") and "Mötet börjar" in srt
    assert api.client.get(f"/v1/jobs/{job_id}/transcript?format=vtt", headers=api.auth()).text.startswith("WEBVTT")


def test_rttm_needs_a_diarized_job(api):
    plain = completed_job(api)
    error = assert_error(api.client.get(f"/v1/jobs/{plain}/transcript?format=rttm", headers=api.auth()), 409, "not_diarized")
    assert "diarize=true" in error["message"]
    diarized = completed_job(api, options={"diarize": True}, diarized=True)
    rttm = api.client.get(f"/v1/jobs/{diarized}/transcript?format=rttm", headers=api.auth())
    assert rttm.status_code == 200 and rttm.text.count("SPEAKER ") == 2


@pytest.mark.parametrize("fmt", ["DOCX", "JSON", "", "pdf", "txt_plain"])
def test_an_unknown_transcript_format_is_refused(api, fmt):
    job_id = completed_job(api)
    assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript?format={fmt}", headers=api.auth()), 422, "invalid_request")


def test_the_transcript_as_a_word_document_with_its_summary(api):
    import io

    import docx

    for job_id, with_summary in ((completed_job(api), False), (job_with_summary(api, "completed"), True)):
        response = api.client.get(f"/v1/jobs/{job_id}/transcript?format=docx", headers=api.auth())
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        assert response.headers["content-disposition"] == "attachment; filename=\"m_te.docx\"; filename*=UTF-8''m%C3%B6te.docx"
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
        assert text.startswith("möte.wav") and "[00:00] Hej alla Mötet börjar" in text
        assert ("Mötets början" in text) == with_summary


def test_a_stored_summary_that_cannot_be_read_leaves_the_document_without_it(api):
    job_id = job_with_summary(api, "completed")
    api.storage.save_bytes(jobs.summary_key(job_id), b'{"schema_version": 1}')
    response = api.client.get(f"/v1/jobs/{job_id}/transcript?format=docx", headers=api.auth())
    assert response.status_code == 200 and response.content.startswith(b"PK")


def test_the_transcript_formats_offered_are_the_format_table(api):
    from typing import get_args

    from app.routes.jobs import TranscriptFormat
    from workers.transcript.formats import FORMATS

    assert get_args(TranscriptFormat) == FORMATS


def test_a_transcript_removed_from_storage_is_gone(api):
    job_id = completed_job(api)
    api.storage.delete_prefix(jobs.job_prefix(job_id))
    for fmt in ("json", "txt", "rttm"):
        assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript?format={fmt}", headers=api.auth()), 410, "transcript_gone")


def test_no_summary_asked_for_is_not_requested(api):
    job_id = completed_job(api)
    error = assert_error(api.client.get(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 404, "summary_not_requested")
    assert f"POST /v1/jobs/{job_id}/summary" in error["message"]
    # Also for a job that is still queued.
    assert_error(api.client.get(f"/v1/jobs/{queued_job(api)}/summary", headers=api.auth()), 404, "summary_not_requested")


@pytest.mark.parametrize("state", ["pending", "running"])
def test_a_pending_or_running_summary_is_not_ready(api, state):
    job_id = job_with_summary(api, state)
    for fmt in ("json", "md"):
        error = assert_error(
            api.client.get(f"/v1/jobs/{job_id}/summary?format={fmt}", headers=api.auth()), 409, "summary_not_ready"
        )
        assert state in error["message"]


def test_a_summary_of_a_queued_job_is_not_ready(api):
    job_id = queued_job(api, options={"summarize": True})
    assert_error(api.client.get(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 409, "summary_not_ready")


def test_a_failed_summary_says_why(api):
    job_id = job_with_summary(api, "failed")
    error = assert_error(api.client.get(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 409, "summary_failed")
    assert "llm_unavailable" in error["message"] and "did not answer" in error["message"]
    state = api.client.get(f"/v1/jobs/{job_id}", headers=api.auth()).json()["summary"]
    assert state == {"status": "failed", "error": {"code": "llm_unavailable", "message": "the summary model did not answer"}}


def test_a_summary_of_a_failed_transcription_fails_too(api):
    job_id = failed_job(api, options={"summarize": True})
    error = assert_error(api.client.get(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 409, "summary_failed")
    assert "no_transcript" in error["message"]


def test_a_completed_summary_as_json_and_markdown(api):
    job_id = job_with_summary(api, "completed")
    document = api.client.get(f"/v1/jobs/{job_id}/summary", headers=api.auth())
    assert document.status_code == 200 and document.json()["matter"] == "Mötets början"
    markdown = api.client.get(f"/v1/jobs/{job_id}/summary?format=md", headers=api.auth())
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert "Mötets början" in markdown.text
    assert_error(api.client.get(f"/v1/jobs/{job_id}/summary?format=pdf", headers=api.auth()), 422, "invalid_request")


def test_a_summary_removed_from_storage_is_gone(api):
    job_id = job_with_summary(api, "completed")
    api.storage.delete_prefix(jobs.job_prefix(job_id))
    for fmt in ("json", "md"):
        assert_error(api.client.get(f"/v1/jobs/{job_id}/summary?format={fmt}", headers=api.auth()), 410, "summary_gone")


@pytest.mark.parametrize("state", ["queued", "running", "failed"])
def test_a_summary_cannot_be_asked_for_before_the_transcript(api, state):
    job_id = failed_job(api) if state == "failed" else queued_job(api)
    if state == "running":
        jobs.start_attempt(api.sessions, job_id)
    assert_error(api.client.post(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 409, "transcript_not_ready")
    assert api.broker.tasks == []
    assert jobs.get_job(api.sessions, job_id).summary_status in ("none", "failed")


@pytest.mark.parametrize("state", ["pending", "running"])
def test_a_summary_in_progress_is_not_asked_for_twice(api, state):
    job_id = job_with_summary(api, state)
    error = assert_error(api.client.post(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 409, "summary_in_progress")
    assert state in error["message"]
    assert api.broker.tasks == []


def test_asking_for_a_summary_again_after_one_failed(api):
    job_id = job_with_summary(api, "failed")
    response = api.client.post(f"/v1/jobs/{job_id}/summary", headers=api.auth())
    assert response.status_code == 202, response.text
    assert response.json()["summary"] == {"status": "pending", "error": None}
    assert api.broker.tasks == [(SUMMARIZE_TASK, [job_id], CPU_QUEUE)]


def test_asking_for_a_summary_with_the_broker_down_changes_nothing(api):
    job_id = job_with_summary(api, "failed")
    api.broker.down = True
    error = assert_error(api.client.post(f"/v1/jobs/{job_id}/summary", headers=api.auth()), 503, "broker_unavailable")
    assert "nothing changed" in error["message"]
    job = jobs.get_job(api.sessions, job_id)
    assert (job.summary_status, job.summary_error_code) == ("failed", "llm_unavailable")
    # The same for a job that never asked for one: it stays without a summary.
    plain = completed_job(api)
    assert_error(api.client.post(f"/v1/jobs/{plain}/summary", headers=api.auth()), 503, "broker_unavailable")
    assert jobs.get_job(api.sessions, plain).summary_status == "none"


def test_deleting_a_job_removes_its_row_and_objects_once(api):
    job_id = job_with_summary(api, "completed")
    assert api.leftovers() != []
    response = api.client.delete(f"/v1/jobs/{job_id}", headers=api.auth())
    assert response.status_code == 204 and response.content == b""
    assert jobs.get_job(api.sessions, job_id) is None and api.leftovers() == []
    assert_error(api.client.delete(f"/v1/jobs/{job_id}", headers=api.auth()), 404, "job_not_found")
    assert_error(api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth()), 404, "job_not_found")


def test_a_stored_transcript_is_served_as_stored(api):
    job_id = completed_job(api)
    stored = api.storage.read_bytes(jobs.transcript_key(job_id))
    served = api.client.get(f"/v1/jobs/{job_id}/transcript", headers=api.auth()).content
    assert json.loads(served) == json.loads(stored)
