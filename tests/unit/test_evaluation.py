"""The evaluation harness without the model: manifests, grouping, worst list, reports."""

import json
from pathlib import Path

import pytest

from workers.evaluation.manifests import ManifestError, load_manifest
from workers.evaluation.report import SYNTHETIC_NOTE, write_reports
from workers.evaluation.results import EntryResult, summarize


def write_manifest(folder: Path, rows: list[dict]) -> Path:
    for row in rows:
        (folder / row["file"]).write_bytes(b"x")
    path = folder / "manifest.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "a", "file": "a.flac", "text": "Vi ses i Ystad klockan tio", "dialect_area": "sydsvenska mål", "condition": "clean", "synthetic": True},
    {"id": "b", "file": "b.flac", "text": "Ring Skatteverket i Umeå", "dialect_area": "norrländska mål", "condition": "telephone", "synthetic": True},
    {"id": "c", "file": "c.flac", "text": "Tåget till Visby går nu", "dialect_area": "gotländska mål", "condition": "clean", "synthetic": True},
    {"id": "s", "file": "s.flac", "text": "", "condition": "silence", "expect_words": False},
]


def results_for(entries, hypotheses):
    return [EntryResult(e, h, 0.5) for e, h in zip(entries, hypotheses)]


def test_manifest_entries_and_defaults(tmp_path):
    entries = load_manifest(write_manifest(tmp_path, ROWS))
    assert [e.id for e in entries] == ["a", "b", "c", "s"]
    assert entries[0].group == tmp_path.name and entries[0].path == tmp_path / "a.flac"
    assert entries[3].dialect_area == "unknown" and not entries[3].expect_words


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "x", "file": "x.flac"}], "not a manifest entry"),
        ([{"id": "x", "file": "x.flac", "text": ""}], "no reference text"),
        ([{"id": "x", "file": "x.flac", "text": "a"}, {"id": "x", "file": "y.flac", "text": "b"}], "duplicate ids"),
    ],
)
def test_bad_manifests_say_what_is_wrong(tmp_path, rows, message):
    for row in rows:
        (tmp_path / row["file"]).write_bytes(b"x")
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_missing_audio_is_named(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "x", "file": "gone.wav", "text": "hej"}) + "\n")
    with pytest.raises(ManifestError, match="gone.wav does not exist"):
        load_manifest(path)


def test_scores_by_area_condition_and_worst(tmp_path):
    entries = load_manifest(write_manifest(tmp_path, ROWS))
    summary = summarize(
        results_for(entries, ["Vi ses i Ystad klockan 10.", "Ring skatte verket i Umeå", "", "Textning"]),
        {"id": "m", "revision": None, "device": "cpu", "compute_type": "int8"}, {},
    )
    assert summary["by_dialect_area"]["sydsvenska mål"]["wer"] == 0.0
    assert summary["by_dialect_area"]["gotländska mål"]["wer"] == 1.0
    assert summary["by_condition"]["clean"]["recordings"] == 2
    assert summary["by_condition"]["silence"]["words_on_non_speech"] == 1
    assert summary["overall"]["speech_recordings"] == 3
    assert [w["id"] for w in summary["worst"]] == ["c", "b", "a"]
    assert "S" in summary["worst"][1]["alignment"] or "I" in summary["worst"][1]["alignment"]


def test_reports_are_written_and_honest_about_synthetic_speech(tmp_path):
    entries = load_manifest(write_manifest(tmp_path, ROWS))
    summary = summarize(results_for(entries, ["Vi ses", "Ring", "Tåget", ""]),
                        {"id": "m", "revision": "r", "device": "cpu", "compute_type": "int8"}, {"beam_size": 5})
    paths = write_reports(summary, tmp_path / "out")
    assert [p.name for p in paths] == ["eval.json", "eval.md", "eval.png"]
    assert json.loads(paths[0].read_text())["overall"]["wer"] == summary["overall"]["wer"]
    markdown = paths[1].read_text()
    assert SYNTHETIC_NOTE in markdown and "sydsvenska mål" in markdown and "eval.png" in markdown
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
