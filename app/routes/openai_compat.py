"""POST /v1/audio/transcriptions: the OpenAI audio API, for tools that already speak it.

Synchronous for the caller, but the work still runs as a job on a gpu worker (the API never
loads a model): the request creates a job, waits for it, and answers in OpenAI's formats.
The job stays listed under /v1/jobs like any other.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from app.deps import CallerDep, IntakeDep, SessionsDep, SettingsDep, StorageDep
from app.errors import ApiError
from app.routes.jobs import validate_options
from app.uploads import multipart_openapi, receive_upload, store_and_enqueue
from workers.documents.export import subtitle_options
from workers.store import audit, jobs
from workers.store.audit import Action
from workers.store.db import JobStatus
from workers.transcript.formats import SubtitleOptions, render, transcript_from_json
from workers.transcript.languages import language_name
from workers.transcript.types import Transcript

router = APIRouter(prefix="/v1/audio", tags=["openai-compatible"])

RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
# OpenAI's model names stand for whatever model the operator configured.
OPENAI_MODEL_ALIASES = {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"}
FIELDS = {"model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]"}
POLL_INTERVAL_S = 0.25
# A failed job as an HTTP answer: the caller's file (415) or a service that is down (503).
FAILED_JOB_STATUS = {
    "audio_decode_error": 415,
    "audio_too_long": 413,
    "model_unavailable": 503,
    "storage_unavailable": 503,
    "model_not_found": 503,
}

_BODY = multipart_openapi(
    ["file", "model"],
    {
        "file": {"type": "string", "format": "binary"},
        "model": {"type": "string", "description": "whisper-1 (the configured model) or an allowed model name"},
        "language": {"type": "string"},
        "prompt": {"type": "string"},
        "response_format": {"type": "string", "enum": list(RESPONSE_FORMATS)},
        "temperature": {"type": "number", "description": "only 0 is supported"},
        "timestamp_granularities[]": {"type": "array", "items": {"type": "string", "enum": ["word", "segment"]}},
    },
)


@router.post("/transcriptions", openapi_extra=_BODY, summary="OpenAI-compatible synchronous transcription")
async def create_transcription(
    request: Request,
    caller: CallerDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    storage: StorageDep,
    intake: IntakeDep,
) -> Response:
    upload = await receive_upload(request, settings, FIELDS)
    try:
        fields = dict(upload.fields)
        granularities = _granularities(upload.repeated.get("timestamp_granularities[]", []))
        response_format = fields.pop("response_format", "json")
        if response_format not in RESPONSE_FORMATS:
            raise ApiError(400, "invalid_option", f"response_format must be one of {', '.join(RESPONSE_FORMATS)}")
        if float(fields.pop("temperature", "0") or 0) != 0:
            raise ApiError(400, "invalid_option", "only temperature 0 is supported (decoding falls back by itself)")
        fields.pop("timestamp_granularities[]", None)
        model = fields.pop("model", None)
        if not model:
            raise ApiError(400, "invalid_option", "the 'model' field is required (whisper-1 selects the configured model)")
        if model not in OPENAI_MODEL_ALIASES:
            fields["model"] = model
        options = await run_in_threadpool(validate_options, fields, settings, sessions, caller.key_id)
    except ValueError as e:
        upload.discard()
        raise ApiError(400, "invalid_option", f"temperature must be a number: {e}") from e
    except BaseException:
        upload.discard()
        raise

    job, _ = await run_in_threadpool(
        lambda: store_and_enqueue(
            upload,
            owner=caller.key_id,
            options=options,
            idempotency_key=None,
            settings=settings,
            intake=intake,
            tenant_id=caller.tenant_id,
        )
    )
    created = caller.audit(Action.JOB_CREATED, object_type="job", object_id=job.id, detail={"route": "openai"})
    await run_in_threadpool(audit.record, sessions, created)
    finished = await _wait(sessions, job.id, settings.sync_timeout_s)
    if finished.status == JobStatus.failed:
        status = FAILED_JOB_STATUS.get(finished.error_code, 500)
        raise ApiError(status, finished.error_code or "job_failed", finished.error_message or "transcription failed")
    transcript = transcript_from_json(storage.read_bytes(finished.transcript_key).decode("utf-8"))
    read = caller.audit(Action.TRANSCRIPT_READ, object_type="job", object_id=job.id, detail={"format": response_format})
    await run_in_threadpool(audit.record, sessions, read)
    return _respond(transcript, response_format, granularities, subtitle_options(settings))


def _granularities(values: list[str]) -> set[str]:
    chosen = set(values) or {"segment"}
    unknown = chosen - {"word", "segment"}
    if unknown:
        raise ApiError(400, "invalid_option", f"timestamp_granularities[] takes word and/or segment, not {sorted(unknown)}")
    return chosen


async def _wait(sessions, job_id: str, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        job = await run_in_threadpool(jobs.get_job, sessions, job_id)
        if job is None:
            raise ApiError(410, "job_gone", f"job {job_id} was deleted while it ran")
        if job.status in jobs.FINISHED:
            return job
        if time.monotonic() > deadline:
            raise ApiError(
                504, "timeout", f"not finished within {timeout_s:.0f} s; it goes on as job {job_id} (GET /v1/jobs/{job_id})"
            )
        await asyncio.sleep(POLL_INTERVAL_S)


def _respond(transcript: Transcript, response_format: str, granularities: set[str], subtitles: SubtitleOptions) -> Response:
    if response_format == "text":
        return PlainTextResponse(transcript.text + "\n")
    if response_format in ("srt", "vtt"):
        return PlainTextResponse(render(transcript, response_format, subtitles=subtitles))
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    return JSONResponse(verbose_json(transcript, granularities))


def verbose_json(transcript: Transcript, granularities: set[str]) -> dict[str, Any]:
    """OpenAI's TranscriptionVerbose: every field its schema requires (tests check it against
    the `openai` package's types). Three segment fields are not recorded by this service and are
    filled as OpenAI's own clients expect them: `tokens` is empty, `temperature` 0 (decoding
    starts there) and `seek` the segment's start in 10 ms frames (the decoding window is not kept).
    `compression_ratio` is computed from the text as Whisper does."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": language_name(transcript.language),
        "duration": transcript.duration_s,
        "text": transcript.text,
        # OpenAI bills transcription by whole seconds of audio.
        "usage": {"type": "duration", "seconds": math.ceil(transcript.duration_s)},
    }
    if "segment" in granularities:
        body["segments"] = [
            {
                "id": s.id,
                "seek": round(s.start_s * 100),
                "start": s.start_s,
                "end": s.end_s,
                "text": s.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": _compression_ratio(s.text),
                "no_speech_prob": s.no_speech_prob,
            }
            for s in transcript.segments
        ]
    if "word" in granularities:
        body["words"] = [{"word": w.text, "start": w.start_s, "end": w.end_s} for w in transcript.words]
    return body


def _compression_ratio(text: str) -> float:
    # Whisper's measure of repetition: UTF-8 bytes over zlib-compressed bytes.
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0
