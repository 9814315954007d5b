"""Receiving an upload: size-limited, hashed, probed for audio, stored, queued.

Nothing is left behind by a refused upload: the temporary copy is removed and no job row or
stored object is created unless every check passed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.errors import ApiError
from workers.intake.options import JobOptions
from workers.intake.submit import IdempotencyConflict, Intake, QueueUnavailable, Recording, remove_job, submit
from workers.settings import Settings
from workers.store.db import DEFAULT_TENANT, Job
from workers.store.storage import StorageError, TooLarge
from workers.transcript.audio import probe_audio
from workers.transcript.errors import AudioDecodeError, AudioTooLong

CHUNK_BYTES = 1024 * 1024
# Multipart framing and small fields on top of the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


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
    # Connection: close, because the client may still be sending: without it the server would
    # go on reading (and dropping) the rest of the body to keep the connection for a next request.
    return ApiError(
        413, "upload_too_large", f"the upload exceeds the limit of {settings.max_upload_mb} MiB", {"Connection": "close"}
    )


async def receive_upload(
    request: Request, settings: Settings, allowed_fields: set[str], file_field: str = "file"
) -> ReceivedUpload:
    """Parse the multipart body, copy the file to a temporary file and probe it.

    The body is counted as it arrives: past the limit plus the multipart allowance the request
    is refused at once, whatever its headers said (a chunked body has no Content-Length).

    Raises ApiError: 413 past the size limit, 400 for a missing file or an unknown field,
    415 when the file is not decodable audio.
    """
    max_bytes = settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(settings)  # refused before the body is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "invalid_request", f"send multipart/form-data with the recording in the '{file_field}' field")
    form = await _parse_limited(request, max_bytes + MULTIPART_OVERHEAD_BYTES, settings)
    try:
        return await _receive_form(form, settings, allowed_fields, file_field, max_bytes)
    finally:
        # The spooled file (memory up to 1 MiB, then an anonymous temporary file), also when a
        # field is refused before it was copied.
        await form.close()


async def _receive_form(
    form: FormData, settings: Settings, allowed_fields: set[str], file_field: str, max_bytes: int
) -> ReceivedUpload:
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
            duration_s = await run_in_threadpool(probe_audio, path, settings.max_audio_hours * 3600)
        except AudioTooLong as e:
            raise ApiError(413, "audio_too_long", f"{filename}: {e.reason} (SWESCRIBE_MAX_AUDIO_HOURS)") from e
        except AudioDecodeError as e:
            raise ApiError(415, "unsupported_audio", f"{filename}: {e.reason}") from e
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedUpload(fields=fields, repeated=repeated, filename=filename, path=path, size_bytes=size, duration_s=duration_s)


class _BodyTooLarge(Exception):
    """The request body passed the upload limit while it was being read."""


async def _limited_body(request: Request, max_body_bytes: int) -> AsyncGenerator[bytes, None]:
    """The request body as it arrives, stopped as soon as it passes max_body_bytes.

    A chunked body has no Content-Length to check beforehand, so the bytes themselves are
    counted; the parser never sees more than max_body_bytes.
    """
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_body_bytes:
            raise _BodyTooLarge
        yield chunk


async def _parse_limited(request: Request, max_body_bytes: int, settings: Settings) -> FormData:
    """The multipart form, parsed from the counted body rather than by `request.form()`, which
    would read and spool the whole body before anything could refuse it. On any failure the
    parser closes the files it spooled (anonymous temporary files: nothing stays on disk)."""
    parser = MultiPartParser(request.headers, _limited_body(request, max_body_bytes), max_files=1, max_fields=32)
    try:
        return await parser.parse()
    except _BodyTooLarge as e:
        raise _too_large(settings) from e
    except MultiPartException as e:
        raise ApiError(400, "invalid_request", f"malformed multipart body: {e.message}") from e


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


def store_and_enqueue(
    upload: ReceivedUpload,
    *,
    owner: str,
    options: JobOptions,
    idempotency_key: str | None,
    settings: Settings,
    intake: Intake,
    tenant_id: str = DEFAULT_TENANT,
) -> tuple[Job, bool]:
    """Submit the received upload as a job; returns (job, created). Storage and broker
    failures become 413/503 with nothing left stored."""
    recording = Recording(upload.path, upload.filename, upload.duration_s)
    try:
        return submit(
            intake,
            recording,
            owner=owner,
            options=options,
            idempotency_key=idempotency_key,
            max_bytes=settings.max_upload_mb * 1024 * 1024,
            tenant_id=tenant_id,
        )
    except TooLarge as e:
        raise _too_large(settings) from e
    except StorageError as e:
        raise ApiError(503, "storage_unavailable", f"cannot store the upload: {e}") from e
    except IdempotencyConflict as e:
        raise ApiError(409, "idempotency_conflict", str(e)) from e
    except QueueUnavailable as e:
        remove_job(intake, e.job.id)
        raise ApiError(503, "broker_unavailable", f"{e}; nothing was stored") from e
    finally:
        upload.discard()
