"""Finding the diarization pipeline: names, folders, the Hub; clear errors, never a hang."""

import time

import pytest

from tests.unit.test_model_registry import closed_port
from workers.pipeline.diarization_model import OFFLINE_DIARIZATION_NAME, resolve_diarizer
from workers.pipeline.model_registry import HubOptions
from workers.transcript.errors import ModelNotFoundError, ModelUnavailableError


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: a test that imported it with the
    # variable set must not leave these Hub tests offline.
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return HubOptions(cache_dir=tmp_path / "hub", probe_timeout_s=2.0)


def test_the_offline_profile_needs_no_folder_or_network():
    source = resolve_diarizer(OFFLINE_DIARIZATION_NAME)
    assert source.name == "pyannote-offline" and source.path is None


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ModelNotFoundError, match="pyannote-offline, community-1"):
        resolve_diarizer("pyannote-gigantic")


def test_a_folder_without_a_pipeline_config_is_refused_with_how_to_get_one(tmp_path):
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_diarizer(str(tmp_path))
    assert "no config.yaml" in str(caught.value)
    assert "hf download pyannote/speaker-diarization-community-1" in str(caught.value)


def test_a_pipeline_folder_is_used_as_is(tmp_path):
    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    source = resolve_diarizer(str(tmp_path))
    assert source.path == tmp_path.resolve()


def test_community_1_offline_without_a_cached_copy_says_how_to_get_it(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as caught:
        resolve_diarizer("community-1", hub)
    message = str(caught.value)
    assert "pyannote/speaker-diarization-community-1" in message and "HF_HUB_OFFLINE" in message
    assert "hf download pyannote/speaker-diarization-community-1" in message
    assert "SWESCRIBE_DIARIZATION_MODEL=" in message and "accept the repo's terms" in message


def test_an_unreachable_hub_fails_fast_and_never_falls_back(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="unreachable.*SWESCRIBE_DIARIZATION_MODEL="):
        resolve_diarizer("community-1", hub)
    assert time.monotonic() - started < 5


def test_a_pipeline_the_hub_does_not_have_is_not_found(hub, monkeypatch):
    import http.server
    import threading

    from tests.unit.test_model_registry import _HubStub

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HubStub)  # answers 404
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(ModelNotFoundError, match="diarization model 'someone/no-pipeline'.*has no repo"):
            resolve_diarizer("someone/no-pipeline", hub)
    finally:
        server.shutdown()


def test_a_cached_pipeline_resolves_without_network(hub, monkeypatch):
    snapshot = hub.cache_dir / "models--pyannote--speaker-diarization-community-1" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.yaml").write_text("pipeline: {}\n")
    refs = hub.cache_dir / "models--pyannote--speaker-diarization-community-1" / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    source = resolve_diarizer("community-1", hub)
    assert source.path == snapshot.resolve() and source.revision == "abc123"


def test_a_host_without_the_diarization_extra_gets_a_clear_error(monkeypatch):
    import builtins

    from workers.pipeline import diarization_model

    real_import = builtins.__import__

    def no_pyannote(name, *args, **kwargs):
        if name.startswith("pyannote"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyannote)
    diarization_model.load_diarizer.cache_clear()
    with pytest.raises(ModelNotFoundError, match=r"pip install 'swescribe\[diarization\]'"):
        diarization_model.load_diarizer(resolve_diarizer(OFFLINE_DIARIZATION_NAME), device="cpu")


def test_a_gpu_asked_for_on_a_host_without_one_fails_before_loading(monkeypatch):
    import torch

    from workers.pipeline import diarization_model

    def never(*_args):
        raise AssertionError("the pipeline was built before the device was checked")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(diarization_model, "_offline_pipeline", never)
    diarization_model.load_diarizer.cache_clear()
    with pytest.raises(ModelNotFoundError, match="torch sees no GPU.*SWESCRIBE_DIARIZATION_DEVICE"):
        diarization_model.load_diarizer(resolve_diarizer(OFFLINE_DIARIZATION_NAME), device="cuda")
    with pytest.raises(ModelNotFoundError, match="unknown diarization device 'gpu'"):
        diarization_model.pick_torch_device("gpu")
