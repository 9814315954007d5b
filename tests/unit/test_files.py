"""workers.transcript.files: a file is replaced whole or not at all, and leaves no temporary."""

from __future__ import annotations

import os
import stat

import pytest

from workers.transcript.files import atomic_writer, is_temporary, write_atomically


def test_text_and_bytes_replace_the_file(tmp_path):
    path = tmp_path / "möte.txt"
    write_atomically(path, "Talare 1: hej då\n")
    assert path.read_text(encoding="utf-8") == "Talare 1: hej då\n"
    write_atomically(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    assert [p.name for p in tmp_path.iterdir()] == ["möte.txt"]


def test_a_failure_while_writing_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(path) as out:
        out.write(b"half of the ne")
        raise RuntimeError("disk went away")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_the_temporary_is_hidden_in_the_same_folder_and_recognisable(tmp_path):
    path = tmp_path / ("x" * 250 + ".json")  # the target's name leaves no room for a longer one
    with atomic_writer(path) as out:
        (temporary,) = [p for p in tmp_path.iterdir()]
        assert is_temporary(temporary) and temporary.name.startswith(".")
        out.write(b"{}")
    assert path.read_bytes() == b"{}" and not is_temporary(path)
    assert not is_temporary(tmp_path / ".hidden.wav") and not is_temporary(tmp_path / "upload.part")


def test_new_files_get_the_umask_mode_like_any_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_a_missing_folder_is_an_error_not_created(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "saknas" / "a.txt", "x")
    assert not (tmp_path / "saknas").exists()
