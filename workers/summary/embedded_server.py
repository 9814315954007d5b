"""The embedded LLM: llama-cpp-python's OpenAI-compatible server on 127.0.0.1, serving the
registry-installed GGUF model, for `swescribe up` and `swescribe transcribe --summarize` when
no endpoint is configured. Nothing is downloaded: the weights come from installed packages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from workers.extras import missing_extra_message, missing_extras
from workers.local.ports import free_port
from workers.settings import Settings
from workers.summary.embedded_model import EMBEDDED_MODEL_NAME, embedded_model_file
from workers.transcript.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 180
STOP_GRACE_S = 10


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started (missing package or model, early exit)."""


@dataclass
class EmbeddedServer:
    process: subprocess.Popen
    base_url: str  # up to /v1
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def server_command(model_file: Path, port: int, context_tokens: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_file),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model_alias",
        EMBEDDED_MODEL_NAME,
        "--n_ctx",
        str(context_tokens),
        # The server's default is half the cores for generation; a summary is all this process does.
        "--n_threads",
        str(threads),
        "--n_threads_batch",
        str(threads),
        "--verbose",
        "false",
    ]


def start_embedded_server(settings: Settings, log_path: Path, port: int | None = None) -> EmbeddedServer:
    """Start the server (not waiting for it); EmbeddedServerError when it cannot run here."""
    if missing_extras("llm"):
        raise EmbeddedServerError(missing_extra_message("the embedded summary model", ("llm",)))
    try:
        model_file = embedded_model_file(settings.models_dir)
    except ModelNotFoundError as e:
        raise EmbeddedServerError(str(e)) from e
    port = port or free_port()
    threads = settings.llm_embedded_threads or os.cpu_count() or 1
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The server lets HOST and PORT from the environment override its arguments.
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            server_command(model_file, port, settings.llm_context_tokens, threads),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    return EmbeddedServer(process, f"http://127.0.0.1:{port}/v1", log_path)


def wait_ready(server: EmbeddedServer, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Block until the server lists its model; EmbeddedServerError if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:] if server.log_path.exists() else ""
            raise EmbeddedServerError(f"the embedded LLM server exited with {server.process.returncode}: {tail}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise EmbeddedServerError(f"the embedded LLM server did not start within {timeout_s:g} s; see {server.log_path}")
