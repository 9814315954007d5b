"""The web app's pages and what they call: uploads through the REST intake, the live list,
the transcript with its player data, downloads, the audio with Range, the language switch."""

from __future__ import annotations

import re

import pytest

from app.web.transcript_view import byte_range_response
from tests.api.conftest import completed_job, job_with_summary, queued_job, wav_bytes
from workers.intake.options import JobOptions
from workers.store import jobs


def test_the_root_sends_to_sign_in_or_to_the_jobs(api):
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_the_upload_form_offers_every_job_option_but_the_webhook(web):
    page = web.client.get("/upload").text
    for name in JobOptions.model_fields:
        assert (f'name="{name}"' in page) == (name not in {"webhook_url", "model"}), name
    # Every control has its label.
    for control in re.findall(r'id="(opt-[a-z_]+)"', page):
        assert f'for="{control}"' in page, control


def test_an_upload_goes_through_the_rest_intake(web):
    files = {"file": ("möte.wav", wav_bytes(), "audio/wav")}
    fields = {"diarize": "true", "num_speakers": "2", "summarize": "true", "language": "sv"}
    response = web.client.post("/upload", files=files, data=fields, headers={"X-CSRF-Token": web.csrf})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["options"] == {"diarize": True, "num_speakers": 2, "summarize": True, "language": "sv"}
    assert web.broker.enqueued == [job["id"]]
    stored = jobs.get_job(web.sessions, job["id"])
    assert stored is not None and stored.owner == web.owner


def test_a_bad_upload_is_a_clear_4xx(web):
    headers = {"X-CSRF-Token": web.csrf}
    bad_option = web.client.post("/upload", files={"file": ("a.wav", wav_bytes())}, data={"num_speakers": "2"}, headers=headers)
    assert bad_option.status_code == 400 and "diarize" in bad_option.json()["error"]["message"]
    not_audio = web.client.post("/upload", files={"file": ("a.wav", b"not audio")}, headers=headers)
    assert not_audio.status_code == 415
    assert web.job_count() == 0


def test_the_list_shows_jobs_newest_first_and_filters_by_status(web):
    first, second = completed_job(web), queued_job(web)
    page = web.client.get("/jobs").text
    assert page.index(second) < page.index(first)
    assert second not in web.client.get("/jobs?status=completed").text
    live = web.client.get("/jobs.json?status=queued").json()
    assert [j["id"] for j in live["jobs"]] == [second]
    assert web.client.get("/jobs?status=nonsense").status_code == 422


def test_the_transcript_page_has_timed_words_and_downloads(web):
    job_id = completed_job(web)
    page = web.client.get(f"/jobs/{job_id}").text
    assert 'data-s="0.000" data-e="0.400">Hej</span>' in page
    assert f'src="/jobs/{job_id}/audio"' in page
    for fmt in ("txt", "srt", "vtt", "json", "docx"):
        assert f"/jobs/{job_id}/download/{fmt}" in page
    assert "/download/rttm" not in page  # not diarized


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt", "json", "docx"])
def test_downloads_are_attachments(web, fmt):
    job_id = completed_job(web)
    response = web.client.get(f"/jobs/{job_id}/download/{fmt}")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "möte" in response.headers["content-disposition"] or "m_te" in response.headers["content-disposition"]


def test_an_unknown_format_or_an_unfinished_job_is_a_4xx_page(web):
    job_id = queued_job(web)
    assert web.client.get(f"/jobs/{job_id}/download/exe").status_code == 404
    assert web.client.get(f"/jobs/{job_id}/download/txt").status_code == 409
    assert "inte klar" in web.client.get(f"/jobs/{job_id}").text


def test_the_summary_cites_passages_to_play(web):
    job_id = job_with_summary(web, "completed")
    page = web.client.get(f"/jobs/{job_id}").text
    assert "Mötet börjar." in page
    assert 'class="cite" href="#seg-1" data-s="1.000" data-e="2.000"' in page


def test_the_audio_answers_ranges(web):
    job_id = completed_job(web)
    whole = web.client.get(f"/jobs/{job_id}/audio")
    assert whole.status_code == 200 and whole.content == wav_bytes()
    part = web.client.get(f"/jobs/{job_id}/audio", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == wav_bytes()[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(wav_bytes())}"


def test_text_only_redaction_serves_no_original_audio(web):
    job_id = completed_job(web, options={"redact": True})
    assert web.client.get(f"/jobs/{job_id}/audio").status_code == 404
    assert "/audio" not in web.client.get(f"/jobs/{job_id}").text.split("<main", 1)[1].split("download")[0]


def test_byte_ranges():
    data = bytes(range(100))
    assert byte_range_response(data, "bytes=-10", "audio/wav").body == data[-10:]
    assert byte_range_response(data, "bytes=90-", "audio/wav").body == data[90:]
    assert byte_range_response(data, "bytes=95-500", "audio/wav").headers["content-range"] == "bytes 95-99/100"
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-", "items=1-2", "bytes=1-2,4-5"):
        with pytest.raises(Exception) as raised:
            byte_range_response(data, bad, "audio/wav")
        assert getattr(raised.value, "status_code", None) == 416, bad


def test_english_is_chosen_by_a_cookie(web):
    page = web.client.get("/jobs").text
    assert '<html lang="sv">' in page and "Inspelningar" in page
    response = web.client.post("/language", data={"lang": "en", "csrf": web.csrf, "next": "/jobs"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/jobs"
    page = web.client.get("/jobs").text
    assert '<html lang="en">' in page and "Recordings" in page
    assert web.client.post("/language", data={"lang": "xx", "csrf": web.csrf}).status_code == 400


def test_static_assets_are_served(api):
    for name in ("app.css", "upload.js", "jobs.js", "player.js", "pending.js"):
        assert api.client.get(f"/static/{name}").status_code == 200, name


@pytest.mark.parametrize("settings_overrides", [{"auth_disabled": True}])
def test_with_keys_switched_off_the_pages_need_no_sign_in(api):
    assert api.client.get("/", follow_redirects=False).headers["location"] == "/jobs"
    page = api.client.get("/jobs")
    assert page.status_code == 200 and "/sign-out" not in page.text


def test_a_job_that_redacted_its_audio_plays_the_toned_copy(web):
    job_id = completed_job(web, options={"redact_audio": True})
    web.storage.save_bytes(jobs.redacted_audio_key(job_id), b"fLaC-toned")
    response = web.client.get(f"/jobs/{job_id}/audio")
    assert response.status_code == 200 and response.content == b"fLaC-toned"
    assert response.headers["content-type"] == "audio/flac"


def test_an_unfinished_jobs_page_follows_its_state(web):
    job_id = queued_job(web)
    assert f'data-state="/jobs/{job_id}/state"' in web.client.get(f"/jobs/{job_id}").text
    state = web.client.get(f"/jobs/{job_id}/state", headers={"Accept": "application/json"})
    assert state.status_code == 200 and state.json()["status"] == "queued"
    assert web.client.get("/jobs/nope/state", headers={"Accept": "application/json"}).status_code == 404


def test_speaker_counts_depend_on_diarize(web):
    page = web.client.get("/upload").text
    for name in ("num_speakers", "min_speakers", "max_speakers"):
        assert re.search(rf'id="opt-{name}"[^>]*data-needs="opt-diarize"', page), name


def test_every_message_has_both_languages():
    from app.web.i18n import MESSAGES

    assert set(MESSAGES["sv"]) - {"app.name"} == set(MESSAGES["en"])
