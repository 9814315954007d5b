"""Shared fixtures: the real offline model, the fixture manifests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook_receiver import WebhookReceiver
from workers.local.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "audio_fixtures"
# Real human speech (8 CC0 clips: Common Voice sv-SE and NST), kept in the repository; the
# variable points the tests at another set in the same manifest format.
REAL_SPEECH_DIR = Path(os.environ.get("SWESCRIBE_REAL_SPEECH_DIR", FIXTURES_DIR / "real_speech"))


def load_manifest(path: Path) -> list[dict]:
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for entry in entries:
        entry["path"] = path.parent / entry["file"]
    return entries


@pytest.fixture(scope="session")
def fixture_entries() -> list[dict]:
    return load_manifest(FIXTURES_DIR / "manifest.jsonl")


@pytest.fixture(scope="session")
def real_speech_entries() -> list[dict]:
    manifest = REAL_SPEECH_DIR / "manifest.jsonl"
    if not manifest.is_file():
        pytest.fail(f"real speech clips are missing: expected {manifest} (set SWESCRIBE_REAL_SPEECH_DIR)")
    return load_manifest(manifest)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def offline_model(model_cache):
    from workers.pipeline.asr_model import DeviceOptions, load_model
    from workers.pipeline.model_registry import resolve_model

    return load_model(resolve_model("whisper-base-offline", cache_dir=model_cache), DeviceOptions(device="cpu", cpu_threads=2))


@pytest.fixture(scope="session")
def conversation_entries() -> list[dict]:
    """The synthetic multi-voice conversations with RTTM ground truth."""
    entries = load_manifest(FIXTURES_DIR / "conversations" / "manifest.jsonl")
    for entry in entries:
        entry["rttm_path"] = FIXTURES_DIR / "conversations" / entry["rttm"]
    return entries


@pytest.fixture(scope="session")
def offline_diarizer():
    from workers.pipeline.diarization_model import load_diarizer, resolve_diarizer

    return load_diarizer(resolve_diarizer("pyannote-offline"), device="cpu", cpu_threads=2)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("wb")
    # Werkzeug logs every request; a file (not a pipe) can never fill up and stall the server.
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60  # the machine's cores may be busy
        while True:
            if server.poll() is not None:
                pytest.fail(f"moto server exited with {server.returncode}; see {log.name}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto server did not listen on port {port}; see {log.name}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def receiver():
    """Make webhook receivers: receiver([500, 200]) answers 500, then 200 from then on."""
    made: list[WebhookReceiver] = []

    def make(answers: list) -> WebhookReceiver:
        made.append(WebhookReceiver(answers))
        return made[-1]

    yield make
    for r in made:
        r.close()


# The embedded summary model's context in tests: short transcripts only, and a smaller KV cache.
TEST_LLM_CONTEXT_TOKENS = 4096


@pytest.fixture(scope="session")
def embedded_llm(model_cache, tmp_path_factory) -> Iterator[str]:
    """The embedded summary model under a real llama.cpp server on a free 127.0.0.1 port,
    started once per session; yields its base URL (up to /v1)."""
    from workers.settings import Settings
    from workers.summary.embedded_server import EmbeddedServerError, start_embedded_server, wait_ready

    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("llm"),
        model_cache_dir=model_cache,
        llm_context_tokens=TEST_LLM_CONTEXT_TOKENS,
    )
    try:
        server = start_embedded_server(settings, settings.data_dir / "llm.log")
        wait_ready(server)
    except EmbeddedServerError as e:
        pytest.fail(f"the embedded LLM server cannot run: {e}")
    try:
        yield server.base_url
    finally:
        server.stop()
