"""The evaluation harness without the model: manifests, groups, breakdowns within groups,
worst list, reports."""

import json
from pathlib import Path

import pytest

from workers.evaluation.manifests import ManifestError, default_group_names, load_manifest, load_manifests
from workers.evaluation.report import SYNTHETIC_NOTE, to_markdown, write_reports
from workers.evaluation.results import POOLED_NOTE, EntryResult, summarize

MODEL = {"id": "m", "revision": "r", "device": "cpu", "compute_type": "int8"}


def write_manifest(folder: Path, rows: list[dict], name: str = "manifest.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for row in rows:
        (folder / row["file"]).write_bytes(b"x")
    path = folder / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {
        "id": "a",
        "file": "a.flac",
        "text": "Vi ses i Ystad klockan tio",
        "dialect_area": "sydsvenska mål",
        "condition": "clean",
        "synthetic": True,
    },
    {
        "id": "b",
        "file": "b.flac",
        "text": "Ring Skatteverket i Umeå",
        "dialect_area": "norrländska mål",
        "condition": "telephone",
        "synthetic": True,
    },
    {
        "id": "c",
        "file": "c.flac",
        "text": "Tåget till Visby går nu",
        "dialect_area": "gotländska mål",
        "condition": "clean",
        "synthetic": True,
    },
    {"id": "s", "file": "s.flac", "text": "", "condition": "silence", "expect_words": False, "synthetic": True},
]
# An operator's own real recordings, with a dialect area the synthetic set also has.
REAL_ROWS = [
    {"id": "r1", "file": "r1.wav", "text": "Vi ses i Ystad klockan tio", "dialect_area": "sydsvenska mål", "condition": "clean"},
    {
        "id": "r2",
        "file": "r2.wav",
        "text": "Ring Skatteverket i Umeå",
        "dialect_area": "norrländska mål",
        "condition": "telephone",
    },
]


def results_for(entries, hypotheses):
    return [EntryResult(e, h, 0.5) for e, h in zip(entries, hypotheses)]


def two_group_summary(tmp_path):
    """Synthetic fixtures heard perfectly, real recordings of the same areas heard not at all."""
    entries = load_manifests([write_manifest(tmp_path / "fixtures", ROWS), write_manifest(tmp_path / "calls", REAL_ROWS)])
    hypotheses = {
        "a": "Vi ses i Ystad klockan 10.",
        "b": "Ring Skatteverket i Umeå",
        "c": "Tåget till Visby går nu",
        "s": "",
        "r1": "",
        "r2": "",
    }
    return summarize(results_for(entries, [hypotheses[e.id] for e in entries]), MODEL, {})


def test_manifest_entries_and_defaults(tmp_path):
    entries = load_manifest(write_manifest(tmp_path, ROWS))
    assert [e.id for e in entries] == ["a", "b", "c", "s"]
    assert entries[0].group == tmp_path.name and entries[0].path == tmp_path / "a.flac"
    assert entries[0].manifest == tmp_path / "manifest.jsonl"
    assert entries[3].dialect_area == "unknown" and not entries[3].expect_words


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "x", "file": "x.flac"}], "not a manifest entry"),
        (["just a string"], "not a manifest entry"),
        ([{"id": "x", "file": "x.flac", "text": ""}], "no reference text"),
        ([{"id": "x", "file": "x.flac", "text": "a"}, {"id": "x", "file": "y.flac", "text": "b"}], "duplicate ids: 'x'"),
        (
            [{"id": "x", "file": "x.flac", "text": "a", "synthetic": True}, {"id": "y", "file": "y.flac", "text": "b"}],
            "mixes synthetic and real",
        ),
    ],
)
def test_bad_manifests_say_what_is_wrong(tmp_path, rows, message):
    for row in rows:
        if isinstance(row, dict):
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


def test_manifests_in_folders_of_the_same_name_stay_separate_groups(tmp_path):
    first = write_manifest(tmp_path / "a" / "calls", REAL_ROWS)
    second = write_manifest(tmp_path / "b" / "calls", [{**r, "id": r["id"] + "b"} for r in REAL_ROWS])
    entries = load_manifests([first, second])
    groups = {e.manifest: e.group for e in entries}
    assert groups == {first: "a/calls", second: "b/calls"}


def test_two_manifests_in_one_folder_are_told_apart_by_file_name(tmp_path):
    train = write_manifest(tmp_path / "calls", REAL_ROWS[:1], "train.jsonl")
    test = write_manifest(tmp_path / "calls", REAL_ROWS[1:], "test.jsonl")
    assert set(default_group_names([train, test]).values()) == {"calls/train", "calls/test"}


def test_a_lone_manifest_keeps_its_folder_name(tmp_path):
    first = write_manifest(tmp_path / "fixtures", ROWS)
    second = write_manifest(tmp_path / "calls", REAL_ROWS)
    assert default_group_names([first, second]) == {first.resolve(): "fixtures", second.resolve(): "calls"}


def test_an_explicit_group_cannot_join_another_manifests_group(tmp_path):
    first = write_manifest(tmp_path / "fixtures", ROWS)
    second = write_manifest(tmp_path / "calls", [{**r, "group": "fixtures"} for r in REAL_ROWS])
    with pytest.raises(ManifestError, match="group 'fixtures' comes from both"):
        load_manifests([first, second])


def test_duplicate_ids_across_manifests_are_an_error_naming_both(tmp_path):
    first = write_manifest(tmp_path / "a", REAL_ROWS)
    second = write_manifest(tmp_path / "b", REAL_ROWS)
    with pytest.raises(ManifestError, match=r"a/manifest.jsonl and .*b/manifest.jsonl: duplicate ids: 'r1'"):
        load_manifests([first, second])


def test_the_same_manifest_twice_is_an_error(tmp_path):
    path = write_manifest(tmp_path, REAL_ROWS)
    with pytest.raises(ManifestError, match="given twice"):
        load_manifests([path, tmp_path / "." / "manifest.jsonl"])


def test_areas_and_conditions_are_scored_within_each_group(tmp_path):
    summary = two_group_summary(tmp_path)
    fixtures, calls = summary["by_group"]["fixtures"], summary["by_group"]["calls"]
    assert (fixtures["speech"], calls["speech"]) == ("synthetic", "real")
    # The same area in two groups: two figures, neither pooled with the other.
    assert fixtures["by_dialect_area"]["sydsvenska mål"]["wer"] == 0.0
    assert calls["by_dialect_area"]["sydsvenska mål"]["wer"] == 1.0
    assert fixtures["by_condition"]["clean"]["recordings"] == 2
    assert calls["by_condition"]["clean"]["recordings"] == 1
    assert fixtures["by_condition"]["silence"]["words_on_non_speech"] == 0
    assert fixtures["overall"]["wer"] == 0.0 and calls["overall"]["wer"] == 1.0
    assert "by_dialect_area" not in summary and "by_condition" not in summary


def test_the_pooled_figure_is_labelled_and_covers_every_group(tmp_path):
    summary = two_group_summary(tmp_path)
    pooled = summary["all_groups"]
    assert pooled["groups"] == ["calls", "fixtures"] and pooled["note"] == POOLED_NOTE
    assert pooled["speech_recordings"] == 5
    # All 10 real words are missed, none of the 15 synthetic ones: both groups are in it.
    assert pooled["wer"] == pytest.approx(10 / 25, abs=1e-4)


def test_worst_recordings_are_listed_per_group(tmp_path):
    entries = load_manifest(write_manifest(tmp_path, ROWS))
    summary = summarize(
        results_for(entries, ["Vi ses i Ystad klockan 10.", "Ring skatte verket i Umeå", "", "Textning"]), MODEL, {}
    )
    group = summary["by_group"][tmp_path.name]
    assert [w["id"] for w in group["worst"]] == ["c", "b", "a"]
    assert "S" in group["worst"][1]["alignment"] or "I" in group["worst"][1]["alignment"]
    assert group["by_condition"]["silence"]["words_on_non_speech"] == 1


def markdown_sections(markdown: str) -> dict[str, str]:
    """ "## title" -> the text under it."""
    parts = markdown.split("\n## ")[1:]
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in parts}


def test_markdown_keeps_groups_apart_and_labels_them(tmp_path):
    markdown = to_markdown(two_group_summary(tmp_path), "eval.png")
    sections = markdown_sections(markdown)
    assert list(sections) == ["By group", "calls (real speech)", "fixtures (synthetic speech)"]
    real, synthetic = sections["calls (real speech)"], sections["fixtures (synthetic speech)"]
    assert SYNTHETIC_NOTE in synthetic and SYNTHETIC_NOTE not in real
    assert "| sydsvenska mål | 1 | 100.0 % |" in real and "| sydsvenska mål | 1 | 0.0 % |" in synthetic
    assert "All groups pooled" in sections["By group"] and "not an accuracy figure" in sections["By group"]


def test_a_group_without_labels_gets_no_unknown_breakdown(tmp_path):
    rows = [{"id": "r", "file": "r.wav", "text": "Han gillar det visst"}]
    entries = load_manifest(write_manifest(tmp_path / "real_speech", rows))
    markdown = to_markdown(summarize(results_for(entries, ["Han gillar det"]), MODEL, {}), "eval.png")
    assert "No dialect_area labels" in markdown and "No condition labels" in markdown
    assert "| unknown |" not in markdown
    assert "All groups pooled" not in markdown  # one group: its own figure is the overall


def test_reports_are_written_and_honest_about_synthetic_speech(tmp_path):
    summary = two_group_summary(tmp_path)
    paths = write_reports(summary, tmp_path / "out")
    assert [p.name for p in paths] == ["eval.json", "eval.md", "eval.png"]
    written = json.loads(paths[0].read_text())
    assert written["all_groups"]["wer"] == summary["all_groups"]["wer"]
    assert set(written["by_group"]) == {"fixtures", "calls"}
    markdown = paths[1].read_text()
    assert SYNTHETIC_NOTE in markdown and "sydsvenska mål" in markdown and "eval.png" in markdown
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
