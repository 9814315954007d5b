"""POST /v1/jobs: every refusal is a 4xx (or a 503 for a broker that is down) with the one error
shape, and leaves nothing behind: no job row, no stored object, no temporary file."""

from __future__ import annotations

import pytest

from tests.api.conftest import FLAC_CLIP, assert_error, wav_bytes
from workers.store import jobs
from workers.store.db import Job, Priority
from workers.webhooks import store as webhook_store

PUBLIC_URL = "https://93.184.216.34/hook"  # an address literal: no DNS lookup in the test


def assert_nothing_left(api) -> None:
    assert api.job_count() == 0
    assert api.leftovers() == [], "no temp file and no stored object after a refused upload"
    assert api.broker.enqueued == []


def test_an_accepted_upload_is_stored_recorded_and_queued(api):
    audio = wav_bytes()
    response = api.upload(audio, "förhör 1.wav", fields={"language": "sv", "diarize": "true", "num_speakers": "2"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/v1/jobs/{body['id']}"
    assert (body["status"], body["progress"], body["file"]["name"], body["file"]["size_bytes"]) == (
        "queued",
        0.0,
        "förhör 1.wav",
        len(audio),
    )
    assert body["options"] == {"language": "sv", "diarize": True, "num_speakers": 2}
    assert body["duration_s"] == pytest.approx(0.5, abs=0.01)
    assert api.broker.enqueued == [body["id"]]
    job = jobs.get_job(api.sessions, body["id"], api.owner)
    assert api.storage.read_bytes(job.audio_key) == audio
    assert api.leftovers() == [f"storage/{job.audio_key}"], "only the stored audio: the upload's temp file is gone"


def test_the_same_idempotency_key_returns_the_same_job(api):
    first = api.upload(headers={"Idempotency-Key": "arende-17"})
    again = api.upload(headers={"Idempotency-Key": "arende-17"})
    assert first.status_code == 202 and again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert api.job_count() == 1 and len(api.broker.enqueued) == 1
    # Another key's idempotency keys are its own.
    theirs = api.upload(key=api.other_key, headers={"Idempotency-Key": "arende-17"})
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]


def test_an_idempotency_key_used_for_another_recording_is_a_conflict(api):
    first = api.upload(headers={"Idempotency-Key": "arende-18"})
    assert first.status_code == 202, first.text
    stored = api.leftovers()
    error = assert_error(api.upload(wav_bytes(0.7), headers={"Idempotency-Key": "arende-18"}), 409, "idempotency_conflict")
    assert first.json()["id"] in error["message"]
    other_options = api.upload(fields={"language": "en"}, headers={"Idempotency-Key": "arende-18"})
    assert_error(other_options, 409, "idempotency_conflict")
    assert api.job_count() == 1 and api.leftovers() == stored, "the conflicting uploads left nothing"
    assert len(api.broker.enqueued) == 1


def test_a_recording_longer_than_allowed_is_refused(api):
    api.settings.max_audio_hours = 0.3 / 3600  # 0.3 s; the upload is 0.5 s
    error = assert_error(api.upload(), 413, "audio_too_long")
    assert error["message"].startswith("möte.wav: ")
    assert_nothing_left(api)


def test_an_overlong_idempotency_key_is_refused(api):
    assert_error(api.upload(headers={"Idempotency-Key": "x" * 201}), 422, "invalid_request")
    assert_nothing_left(api)


def test_a_missing_file_is_refused(api):
    response = api.client.post("/v1/jobs", data={"language": "sv"}, files={"other": ("a.wav", wav_bytes())}, headers=api.auth())
    assert_error(response, 400, "missing_file")
    # A text field named "file" is not a file either.
    response = api.client.post("/v1/jobs", data={"file": "möte.wav"}, files={"language": (None, "sv")}, headers=api.auth())
    assert_error(response, 400, "missing_file")
    assert_nothing_left(api)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"json": {"file": "abc"}}, "invalid_request"),
        ({"content": b"RIFF....", "headers": {"Content-Type": "audio/wav"}}, "invalid_request"),
        ({"data": {"file": "abc"}}, "invalid_request"),  # urlencoded
        (
            {"content": b"--x\r\nnot really multipart", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
            "invalid_request",
        ),
        ({"content": b"", "headers": {"Content-Type": "multipart/form-data"}}, "invalid_request"),
        ({"content": b"--x--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}, "missing_file"),
    ],
    ids=["json", "raw-audio", "urlencoded", "malformed-multipart", "no-boundary", "empty-multipart"],
)
def test_a_body_that_is_not_a_multipart_form_with_a_file_is_refused(api, kwargs, code):
    headers = {**api.auth(), **kwargs.pop("headers", {})}
    assert_error(api.client.post("/v1/jobs", headers=headers, **kwargs), 400, code)
    assert_nothing_left(api)


def test_an_option_sent_as_a_file_is_refused(api):
    response = api.client.post(
        "/v1/jobs",
        headers=api.auth(),
        files=[("file", ("a.wav", wav_bytes())), ("language", ("lang.txt", b"sv"))],
    )
    assert_error(response, 400, "invalid_request")
    assert_nothing_left(api)


def test_too_many_fields_are_refused(api):
    fields = {"language": ["sv"] * 40}
    assert_error(api.upload(fields=fields), 400, "invalid_request")
    assert_nothing_left(api)


def test_an_unknown_option_is_refused_and_named(api):
    error = assert_error(api.upload(fields={"langauge": "sv"}), 400, "unknown_option")
    assert "langauge" in error["message"] and "language" in error["message"]
    assert_nothing_left(api)


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"diarize": "kanske"}, "diarize"),
        ({"summarize": "2"}, "summarize"),
        ({"language": "klingon"}, "language"),
        ({"model": "kb-whisper-large"}, "not offered"),
        ({"diarize": "true", "num_speakers": "två"}, "num_speakers"),
        ({"num_speakers": "2"}, "diarize"),
        ({"diarize": "true", "num_speakers": "0"}, "num_speakers"),
        ({"diarize": "true", "min_speakers": "4", "max_speakers": "2"}, "speakers"),
        ({"diarize": "true", "num_speakers": "2", "min_speakers": "1"}, "speakers"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"hotwords": "x" * 1001}, "hotwords"),
    ],
    ids=[
        "bool",
        "bool-number",
        "language",
        "model",
        "count-text",
        "count-without-diarize",
        "count-zero",
        "min-over-max",
        "exact-and-range",
        "long-prompt",
        "long-hotwords",
    ],
)
def test_an_invalid_option_is_refused_with_the_reason(api, fields, words):
    error = assert_error(api.upload(fields=fields), 400, "invalid_option")
    assert words in error["message"], error
    assert_nothing_left(api)


def test_a_webhook_url_needs_the_keys_signing_secret_first(api):
    assert_error(api.upload(fields={"webhook_url": PUBLIC_URL}), 400, "no_webhook_secret")
    assert_nothing_left(api)
    webhook_store.set_endpoint(api.sessions, api.owner, None)
    response = api.upload(fields={"webhook_url": PUBLIC_URL})
    assert response.status_code == 202, response.text
    assert response.json()["options"]["webhook_url"] == PUBLIC_URL


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "ftp://93.184.216.34/hook",
        "https://user:secret@93.184.216.34/hook",
        "not a url",
        "http://93.184.216.34:99999/hook",
        "http://[::1",
    ],
    ids=["loopback", "metadata", "private", "ipv6-loopback", "scheme", "credentials", "garbage", "port-range", "broken-ipv6"],
)
def test_an_unsafe_webhook_url_is_refused(api, url):
    webhook_store.set_endpoint(api.sessions, api.owner, None)
    assert_error(api.upload(fields={"webhook_url": url}), 400, "invalid_webhook_url")
    assert_nothing_left(api)


def test_an_upload_past_the_declared_limit_is_refused_before_it_is_read(api):
    big = b"\0" * (api.settings.max_upload_mb * 1024 * 1024 + 100 * 1024)
    error = assert_error(api.upload(big), 413, "upload_too_large")
    assert "1 MiB" in error["message"]
    assert_nothing_left(api)


def test_an_upload_just_past_the_limit_is_refused_while_it_is_copied(api):
    # Within the multipart allowance, so the Content-Length check lets it through: the copy
    # itself must stop at the limit.
    big = b"\0" * (api.settings.max_upload_mb * 1024 * 1024 + 1024)
    assert_error(api.upload(big), 413, "upload_too_large")
    assert_nothing_left(api)


def test_an_upload_without_a_content_length_is_still_limited(api):
    boundary = "grans"
    big = b"\0" * (api.settings.max_upload_mb * 1024 * 1024 + 200 * 1024)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def chunked():  # a generator body: sent with Transfer-Encoding: chunked
        yield head
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]
        yield tail

    response = api.client.post(
        "/v1/jobs", content=chunked(), headers={**api.auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert_error(response, 413, "upload_too_large")
    assert_nothing_left(api)


def cut_flac() -> bytes:
    data = FLAC_CLIP.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        ("Protokoll från mötet\n".encode() * 50, "not a recognised audio"),
        (cut_flac(), "truncated"),
        (wav_bytes()[:44], ""),  # a WAV header and no samples
    ],
    ids=["empty", "text", "cut-off-flac", "header-only-wav"],
)
def test_a_file_that_is_not_decodable_audio_is_refused(api, data, reason):
    error = assert_error(api.upload(data, "inspelning.flac"), 415, "unsupported_audio")
    assert error["message"].startswith("inspelning.flac: "), "the caller's name, not the temp file's"
    assert reason in error["message"]
    assert ".upload-" not in error["message"]
    assert_nothing_left(api)


def test_a_whole_flac_fixture_is_accepted(api):
    response = api.upload(FLAC_CLIP.read_bytes(), FLAC_CLIP.name)
    assert response.status_code == 202, response.text
    job = jobs.get_job(api.sessions, response.json()["id"])
    assert job.audio_key.endswith("/audio.flac")
    assert api.storage.read_bytes(job.audio_key) == FLAC_CLIP.read_bytes()


def test_a_broker_that_is_down_leaves_no_job_and_no_audio(api):
    api.broker.down = True
    error = assert_error(api.upload(), 503, "broker_unavailable")
    assert "nothing was stored" in error["message"]
    assert_nothing_left(api)
    # Once it is back, the same upload goes through.
    api.broker.down = False
    assert api.upload().status_code == 202
    assert api.job_count() == 1


def test_a_filename_is_reduced_to_its_last_part(api):
    response = api.upload(filename="../../etc/passwd.wav")
    assert response.status_code == 202, response.text
    assert response.json()["file"]["name"] == "passwd.wav"
    job = jobs.get_job(api.sessions, response.json()["id"])
    assert job.audio_key == f"jobs/{job.id}/audio.wav"


def test_uploads_run_at_normal_priority_unless_they_ask_for_bulk(api):
    plain = api.upload().json()
    assert (plain["priority"], plain["batch"]) == ("normal", None) and "priority" not in plain["options"]
    bulk = api.upload(fields={"priority": "bulk"}).json()
    assert bulk["priority"] == "bulk" and bulk["options"] == {"priority": "bulk"}
    with api.sessions() as session:
        assert session.get(Job, bulk["id"]).priority == Priority.bulk
    refused = api.upload(fields={"priority": "urgent"})
    error = assert_error(refused, 422 if refused.status_code == 422 else 400)
    assert "priority" in error["message"], error
    assert api.job_count() == 2
