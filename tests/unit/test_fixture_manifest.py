"""audio_fixtures/manifest.jsonl holds what the accuracy gates and the report rely on: enough
speech per dialect area and condition, every clip labelled synthetic with its generator, and
files that exist."""

import json
from collections import Counter
from pathlib import Path

import pytest

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures"
DIALECT_AREAS = {"sydsvenska mål", "götamål", "sveamål", "norrländska mål", "östsvenska mål", "gotländska mål"}
SPEECH_CONDITIONS = {"clean", "telephone", "noise_10db", "reverb", "fast"}
NON_SPEECH_CONDITIONS = {"silence", "noise_only", "tone_only"}
REQUIRED = {
    "id",
    "file",
    "text",
    "dialect_area",
    "speakers",
    "condition",
    "synthetic",
    "generator",
    "license",
    "duration_s",
    "expect_words",
    "notes",
}
MIN_SPEECH = 60
MIN_PER_AREA = 5  # fewer and a per-area figure rests on a few dozen words


def _rows() -> list[dict]:
    lines = (FIXTURES_DIR / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


ROWS = _rows()
SPEECH = [r for r in ROWS if r["expect_words"]]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_entry_has_the_required_fields(row):
    assert set(row) >= REQUIRED, REQUIRED - set(row)
    assert isinstance(row["expect_words"], bool) and row["duration_s"] > 0


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_entry_is_labelled_synthetic_with_its_generator(row):
    assert row["synthetic"] is True
    assert row["generator"]["tool"] in {"espeak-ng", "sox"} and row["generator"]["version"]
    assert row["generator"]["sox"], "the exact sox chain reproduces the clip"
    assert row["notes"].startswith("Synthetic ")
    if row["expect_words"]:
        assert row["generator"]["tool"] == "espeak-ng" and row["generator"]["voice"].startswith("sv")
        assert "not a" in row["notes"] and "recording" in row["notes"]  # never passed off as a dialect recording


def test_files_exist_and_ids_are_unique():
    missing = [r["file"] for r in ROWS if not (FIXTURES_DIR / r["file"]).is_file()]
    assert missing == []
    ids = Counter(r["id"] for r in ROWS)
    assert [i for i, n in ids.items() if n > 1] == []
    assert len({r["file"] for r in ROWS}) == len(ROWS)


def test_enough_speech_in_every_dialect_area():
    assert len(SPEECH) >= MIN_SPEECH
    per_area = Counter(r["dialect_area"] for r in SPEECH)
    assert set(per_area) == DIALECT_AREAS | {"standard"}
    assert {a: n for a, n in per_area.items() if n < MIN_PER_AREA} == {}


def test_every_condition_is_covered():
    assert {r["condition"] for r in SPEECH} == SPEECH_CONDITIONS
    assert {r["condition"] for r in ROWS if not r["expect_words"]} == NON_SPEECH_CONDITIONS


def test_speech_has_reference_text_and_non_speech_has_none():
    assert all(r["text"].strip() and r["speakers"] for r in SPEECH)
    assert all(r["text"] == "" and r["speakers"] == [] for r in ROWS if not r["expect_words"])


def test_every_dialect_area_is_heard_under_every_condition():
    # The gates compare areas and conditions; an area missing a condition would skew both.
    pairs = {(r["dialect_area"], r["condition"]) for r in SPEECH}
    missing = [(a, c) for a in sorted(DIALECT_AREAS | {"standard"}) for c in sorted(SPEECH_CONDITIONS) if (a, c) not in pairs]
    assert missing == []
