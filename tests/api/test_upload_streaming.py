"""The upload limit holds while the bytes arrive, whatever the headers say: a chunked body (no
Content-Length) past SWESCRIBE_MAX_UPLOAD_MB is refused with 413 once about the limit has been
read, not after the whole body was spooled; nothing stays on disk or open afterwards.

TestClient reads a generator body in full before the app sees it, so these tests send through
transports that stream: httpx's ASGI transport in-process, and a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.uploads import MULTIPART_OVERHEAD_BYTES
from tests.api.conftest import assert_error
from workers.local.redis_server import free_port

BOUNDARY = "grans"
CHUNK = b"\0" * (64 * 1024)
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="stor.wav"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class CountingBody:
    """A multipart body of `total_bytes` of file data, produced on demand; counts what was pulled."""

    def __init__(self, total_bytes: int):
        self.total_bytes = total_bytes
        self.pulled = 0

    def chunks(self) -> Iterator[bytes]:
        self.pulled += len(HEAD)
        yield HEAD
        for _ in range(self.total_bytes // len(CHUNK)):
            self.pulled += len(CHUNK)
            yield CHUNK
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.pulled += len(tail)
        yield tail

    async def async_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk


@pytest.fixture
def spool_dir(tmp_path, monkeypatch) -> Path:
    """Where Python's temporary files (the parser's spooled upload) go during the test."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def open_files_in(folder: Path) -> list[str]:
    """Files under `folder` this process still holds open, unlinked ones included ("(deleted)")."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        pytest.skip("needs /proc to see open files")
    held = []
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def limit_bytes(api) -> int:
    return api.settings.max_upload_mb * 1024 * 1024


def assert_nothing_kept(api, spool_dir: Path) -> None:
    assert api.job_count() == 0 and api.broker.enqueued == []
    assert api.leftovers() == [], "no temp file and no stored object in the data dir"
    assert list(spool_dir.iterdir()) == [], "nothing left in the temporary folder"
    assert open_files_in(spool_dir) == [], "the spooled upload was closed (and with it removed)"


def test_a_chunked_body_past_the_limit_is_refused_once_the_limit_is_read(api, spool_dir):
    body = CountingBody(64 * limit_bytes(api))  # 64 MiB against a 1 MiB limit

    async def send() -> httpx.Response:
        # The ASGI transport hands the app one chunk at a time, as a server would.
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(
                "/v1/jobs", content=body.async_chunks(), headers={**api.auth(), "Content-Type": CONTENT_TYPE}
            )

    response = asyncio.run(send())
    error = assert_error(response, 413, "upload_too_large")
    assert "1 MiB" in error["message"]
    assert "content-length" not in {k.lower() for k in response.request.headers}, "the body went chunked"
    assert response.headers["connection"] == "close", "a server need not read the rest of the body"
    # At most one chunk past the limit and its multipart allowance was ever pulled.
    assert body.pulled <= limit_bytes(api) + MULTIPART_OVERHEAD_BYTES + len(HEAD) + len(CHUNK), body.pulled
    assert_nothing_kept(api, spool_dir)


def test_a_chunked_body_within_the_limit_is_accepted(api, spool_dir):
    from tests.api.conftest import wav_bytes

    audio = wav_bytes()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield HEAD
        for start in range(0, len(audio), 4096):
            yield audio[start : start + 4096]
        yield tail

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post("/v1/jobs", content=body(), headers={**api.auth(), "Content-Type": CONTENT_TYPE})

    response = asyncio.run(send())
    assert response.status_code == 202, response.text
    assert response.json()["file"]["size_bytes"] == len(audio)
    assert open_files_in(spool_dir) == []


@pytest.fixture
def server(api) -> Iterator[str]:
    """The same app under a real uvicorn on 127.0.0.1, in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(api.client.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)


def test_a_real_server_stops_reading_a_chunked_body_past_the_limit(api, server, spool_dir):
    body = CountingBody(256 * limit_bytes(api))  # 256 MiB against a 1 MiB limit
    response = httpx.post(
        f"{server}/v1/jobs", content=body.chunks(), timeout=60, headers={**api.auth(), "Content-Type": CONTENT_TYPE}
    )
    assert_error(response, 413, "upload_too_large")
    # The server closed the connection instead of draining the body: the client got no further
    # than the limit plus what the two sockets' buffers hold.
    assert body.pulled < 32 * 1024 * 1024, f"{body.pulled / 2**20:.1f} MiB of 256 MiB were sent"
    assert_nothing_kept(api, spool_dir)
