"""POST /v1/audio/transcriptions: its own validation (model, response_format, temperature,
timestamp_granularities[]) refuses with 400 before any job exists, and the answer once the job
is done. The worker's part is played by the fake queue, through the job store."""

from __future__ import annotations

import pytest

from app.deps import get_intake
from tests.api.conftest import assert_error, sample_transcript
from workers.intake.submit import Intake
from workers.store import jobs
from workers.transcript.formats import to_json

PATH = "/v1/audio/transcriptions"


def transcribe(api, fields: dict | None = None, data: bytes | None = None):
    return api.upload(data, "samtal.wav", path=PATH, fields={"model": "whisper-1", **(fields or {})})


def assert_nothing_left(api) -> None:
    assert api.job_count() == 0 and api.leftovers() == [] and api.broker.enqueued == []


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"model": ""}, "'model' field is required"),
        ({"model": "kb-whisper-large"}, "not offered"),
        ({"response_format": "xml"}, "response_format"),
        ({"response_format": "JSON"}, "response_format"),
        ({"temperature": "0.2"}, "temperature 0"),
        ({"temperature": "-1"}, "temperature 0"),
        ({"temperature": "nan"}, "temperature 0"),
        ({"temperature": "varm"}, "temperature must be a number"),
        ({"timestamp_granularities[]": "char"}, "timestamp_granularities[]"),
        ({"language": "klingon"}, "language"),
        ({"prompt": "x" * 2001}, "prompt"),
    ],
    ids=[
        "empty-model",
        "model-not-offered",
        "format",
        "format-case",
        "temperature",
        "negative-temperature",
        "nan-temperature",
        "temperature-text",
        "granularity",
        "language",
        "long-prompt",
    ],
)
def test_invalid_fields_are_refused_before_a_job_exists(api, fields, words):
    error = assert_error(transcribe(api, fields), 400, "invalid_option")
    assert words in error["message"], error
    assert_nothing_left(api)


def test_a_missing_model_field_is_refused(api):
    response = api.upload(path=PATH, fields={"response_format": "json"})
    assert "model" in assert_error(response, 400, "invalid_option")["message"]
    assert_nothing_left(api)


def test_one_bad_granularity_among_good_ones_is_refused(api):
    error = assert_error(transcribe(api, {"timestamp_granularities[]": ["word", "segment", "token"]}), 400, "invalid_option")
    assert "token" in error["message"]
    assert_nothing_left(api)


def test_unknown_fields_and_job_options_are_refused(api):
    # Only OpenAI's fields: a job option like diarize is not one of them.
    for field in ("diarize", "n", "stream"):
        assert_error(transcribe(api, {field: "true"}), 400, "unknown_option")
    assert_nothing_left(api)


def test_a_missing_file_and_undecodable_audio_are_refused(api):
    response = api.client.post(PATH, data={"model": "whisper-1"}, files={"other": ("x", b"x")}, headers=api.auth())
    assert_error(response, 400, "missing_file")
    assert_error(transcribe(api, data=b"inte ljud " * 100), 415, "unsupported_audio")
    assert_error(transcribe(api, data=b"\0" * (1024 * 1024 + 1024)), 413, "upload_too_large")
    assert_nothing_left(api)


def test_a_broker_that_is_down_leaves_no_job_and_no_audio(api):
    api.broker.down = True
    assert_error(transcribe(api), 503, "broker_unavailable")
    assert_nothing_left(api)


def run_jobs_at_once(api, outcome: str) -> list[str]:
    """Replace the queue by a worker that finishes each job as it is queued."""
    ran: list[str] = []

    def worker(job_id: str, _priority: int) -> None:
        ran.append(job_id)
        assert jobs.start_attempt(api.sessions, job_id) is not None
        if outcome == "failed":
            jobs.fail_job(api.sessions, job_id, "audio_decode_error", "samtal.wav: cannot decode audio: cut off")
        elif outcome == "internal":
            jobs.fail_job(api.sessions, job_id, "diarization_failed", "the pipeline broke")
        elif outcome == "completed":
            key = jobs.transcript_key(job_id)
            api.storage.save_bytes(key, to_json(sample_transcript()).encode("utf-8"))
            jobs.complete_job(api.sessions, job_id, key, 2.5, {"transcribe": 1.0})
        elif outcome == "deleted":
            jobs.delete_job(api.sessions, job_id)  # DELETE /v1/jobs/{id} while the caller waits
        # "running": left running, as a slow worker would

    api.client.app.dependency_overrides[get_intake] = lambda: Intake(api.sessions, api.storage, worker)
    return ran


def test_the_answer_in_openais_formats(api):
    ran = run_jobs_at_once(api, "completed")
    assert transcribe(api).json() == {"text": "Hej alla Mötet börjar"}
    assert transcribe(api, {"response_format": "text"}).text == "Hej alla Mötet börjar\n"
    assert transcribe(api, {"response_format": "srt"}).text.startswith("1\n00:00:00,000 --> ")
    verbose = transcribe(
        api,
        {
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
            "temperature": "0.0",
            "language": "sv",
        },
    ).json()
    assert (verbose["task"], verbose["language"], verbose["duration"]) == ("transcribe", "swedish", 2.5)
    assert verbose["usage"] == {"type": "duration", "seconds": 3}
    assert [w["word"] for w in verbose["words"]] == ["Hej", "alla", "Mötet", "börjar"]
    assert [s["text"] for s in verbose["segments"]] == ["Hej alla", "Mötet börjar"]
    # Each request was a job like any other, listed under /v1/jobs.
    assert len(ran) == 4 and api.job_count() == 4


def test_verbose_json_has_every_field_openais_types_require():
    from openai.types.audio import TranscriptionSegment, TranscriptionVerbose, TranscriptionWord

    from app.routes.openai_compat import verbose_json
    from tests.api.conftest import sample_transcript

    body = verbose_json(sample_transcript(), {"segment", "word"})
    parsed = TranscriptionVerbose.model_validate(body)
    for model, items in (
        (TranscriptionVerbose, [body]),
        (TranscriptionSegment, body["segments"]),
        (TranscriptionWord, body["words"]),
    ):
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert all(required <= set(item) for item in items), required
    assert parsed.language == "swedish" and parsed.usage is not None and parsed.usage.type == "duration"
    first = parsed.segments[0]
    assert (first.id, first.seek, first.tokens, first.temperature) == (0, 0, [], 0.0)
    assert first.compression_ratio > 0 and first.avg_logprob == -0.2


@pytest.mark.parametrize(
    "outcome, status, code", [("failed", 415, "audio_decode_error"), ("internal", 500, "diarization_failed")]
)
def test_a_failed_job_is_answered_with_its_error(api, outcome, status, code):
    run_jobs_at_once(api, outcome)
    assert_error(transcribe(api), status, code)


def test_a_job_that_takes_too_long_is_a_timeout_that_names_the_job(api):
    ran = run_jobs_at_once(api, "running")
    api.settings.sync_timeout_s = 0.05
    error = assert_error(transcribe(api), 504, "timeout")
    assert ran and f"/v1/jobs/{ran[0]}" in error["message"]
    assert jobs.get_job(api.sessions, ran[0]).status == "running", "the job goes on"


def test_a_job_deleted_while_the_caller_waits_is_gone(api):
    ran = run_jobs_at_once(api, "deleted")
    error = assert_error(transcribe(api), 410, "job_gone")
    assert ran[0] in error["message"]
