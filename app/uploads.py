"""Receiving an upload: size-limited, hashed, probed for audio, stored, queued.

Nothing is left behind by a refused upload: the temporary copy is removed and no job row or
stored object is created unless every check passed.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from fastapi import Request
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from workers import jobs
from workers.celery_app import GPU_QUEUE, TRANSCRIBE_TASK
from workers.db import Job, new_id
from workers.pipeline.audio import probe_audio
from workers.pipeline.errors import AudioDecodeError
from workers.settings import Settings
from workers.storage import Storage, StorageError, TooLarge

from .errors import ApiError

CHUNK_BYTES = 1024 * 1024
# Multipart framing and small fields on top of the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


@dataclass
class ReceivedUpload:
    fields: dict[str, str]  # the last value of each field
    repeated: dict[str, list[str]]  # every value, for fields like timestamp_granularities[]
    filename: str
    path: Path
    size_bytes: int
    duration_s: float | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def multipart_openapi(required: list[str], properties: dict[str, dict]) -> dict:
    """OpenAPI for a route that parses its multipart body itself (to stream and limit it)."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _too_large(settings: Settings) -> ApiError:
    return ApiError(413, "upload_too_large", f"the upload exceeds the limit of {settings.max_upload_mb} MiB")


async def receive_upload(request: Request, settings: Settings, allowed_fields: set[str], file_field: str = "file") -> ReceivedUpload:
    """Parse the multipart body, copy the file to a temporary file and probe it.

    Raises ApiError: 413 past the size limit, 400 for a missing file or an unknown field,
    415 when the file is not decodable audio.
    """
    max_bytes = settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(settings)  # refused before the body is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "invalid_request", f"send multipart/form-data with the recording in the '{file_field}' field")
    try:
        form = await request.form(max_files=1, max_fields=32)
    except MultiPartException as e:
        raise ApiError(400, "invalid_request", f"malformed multipart body: {e.message}") from e

    upload = form.get(file_field)
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "missing_file", f"the '{file_field}' field with the recording is missing")
    fields: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if name == file_field:
            continue
        if name not in allowed_fields:
            raise ApiError(400, "unknown_option", f"unknown option {name!r}; known: {', '.join(sorted(allowed_fields))}")
        if not isinstance(value, str):
            raise ApiError(400, "invalid_request", f"option {name!r} must be a text field, not a file")
        fields[name] = value
        repeated.setdefault(name, []).append(value)

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=settings.data_dir)
    path = Path(tmp)
    try:
        size = await run_in_threadpool(_copy_limited, upload, fd, max_bytes)
        if size is None:
            raise _too_large(settings)
        filename = Path(upload.filename or "upload").name or "upload"
        try:
            duration_s = await run_in_threadpool(probe_audio, path)
        except AudioDecodeError as e:
            raise ApiError(415, "unsupported_audio", f"{filename}: {e.reason}") from e
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        await upload.close()
    return ReceivedUpload(fields=fields, repeated=repeated, filename=filename, path=path, size_bytes=size, duration_s=duration_s)


def _copy_limited(upload: UploadFile, fd: int, max_bytes: int) -> int | None:
    """Copy the spooled upload into fd; None as soon as it passes max_bytes."""
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := upload.file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                return None
            out.write(chunk)
    return size


def _read_chunks(path: Path):
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            yield chunk


def audio_key(job_id: str, filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return f"{jobs.job_prefix(job_id)}/audio{suffix if _SAFE_SUFFIX.match(suffix) else '.bin'}"


def store_and_enqueue(
    upload: ReceivedUpload, *, owner: str, options: dict, idempotency_key: str | None,
    settings: Settings, sessions: sessionmaker, storage: Storage, celery: Celery,
) -> tuple[Job, bool]:
    """Store the audio, create the job and queue it; returns (job, created)."""
    job_id = new_id()
    try:
        stored = storage.save_stream(audio_key(job_id, upload.filename), _read_chunks(upload.path), settings.max_upload_mb * 1024 * 1024)
    except TooLarge as e:
        raise _too_large(settings) from e
    except StorageError as e:
        raise ApiError(503, "storage_unavailable", f"cannot store the upload: {e}") from e
    finally:
        upload.discard()

    new = jobs.NewJob(
        owner=owner, filename=upload.filename, audio_key=stored.key, audio_sha256=stored.sha256,
        audio_size_bytes=stored.size_bytes, duration_s=upload.duration_s, options=options, idempotency_key=idempotency_key,
    )
    job, created = jobs.create_job(sessions, new, job_id)
    if not created:
        storage.delete_prefix(jobs.job_prefix(job_id))  # the earlier request's job stands
        return job, False
    try:
        celery.send_task(TRANSCRIBE_TASK, args=[job.id], queue=GPU_QUEUE)
    except Exception as e:  # noqa: BLE001 - kombu raises many connection error types
        jobs.delete_job(sessions, job.id)
        storage.delete_prefix(jobs.job_prefix(job.id))
        raise ApiError(503, "broker_unavailable", f"the job queue is unavailable, nothing was stored: {e}") from e
    return job, True
