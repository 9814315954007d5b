"""Pure parts of folder ingestion: settle detection, file names, the folder's config file,
claims and the folder layout on a real temporary folder."""

from __future__ import annotations

import json
import os

import pytest

from workers.ingest.claims import claim_file, load_claims
from workers.ingest.folder_config import FolderConfigError, load_folder_config, parse_folder_config
from workers.ingest.layout import IngestFolderError, folder_lock, move_no_overwrite, prepare_folder
from workers.ingest.names import free_stem, printable, skip_reason, split_name
from workers.ingest.results import transcript_outputs
from workers.ingest.settle import FileStat, SettleTracker
from workers.ingest.submit import idempotency_key, owner_for
from workers.intake.options import JobOptions
from workers.transcript.files import write_atomically

# -- settle --------------------------------------------------------------------------------


def test_a_file_settles_only_after_staying_unchanged_for_the_settle_time():
    tracker = SettleTracker(settle_s=2.0)
    a = FileStat(100, 1)
    assert tracker.observe({"a.wav": a}, now=0.0) == []  # never on first sight
    assert tracker.observe({"a.wav": a}, now=1.9) == []
    assert tracker.observe({"a.wav": a}, now=2.0) == ["a.wav"]


def test_growth_or_a_new_mtime_restarts_the_wait():
    tracker = SettleTracker(settle_s=2.0)
    tracker.observe({"a.wav": FileStat(100, 1)}, now=0.0)
    assert tracker.observe({"a.wav": FileStat(200, 2)}, now=2.5) == []  # still growing
    assert tracker.observe({"a.wav": FileStat(200, 3)}, now=4.0) == []  # touched, same size
    assert tracker.observe({"a.wav": FileStat(200, 3)}, now=5.9) == []
    assert tracker.observe({"a.wav": FileStat(200, 3)}, now=6.0) == ["a.wav"]


def test_vanished_files_are_forgotten_and_settle_zero_still_needs_two_scans():
    tracker = SettleTracker(settle_s=0)
    assert tracker.observe({"a": FileStat(1, 1), "b": FileStat(1, 1)}, now=0.0) == []
    assert tracker.observe({"b": FileStat(1, 1)}, now=0.0) == ["b"]
    assert tracker.waiting() == ["b"]
    tracker.forget("b")
    assert tracker.waiting() == []
    assert tracker.observe({"a": FileStat(1, 1)}, now=1.0) == []  # a reappeared: seen anew
    with pytest.raises(ValueError):
        SettleTracker(-1)


# -- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "möte.wav.part",
        "x.PARTIAL",
        "upload.tmp",
        "film.mp4.crdownload",
        "a.filepart",
        "notes.wav~",
        ".hidden.wav",
        ".~lock.x",
        "a.m4a.download",
    ],
)
def test_partial_uploads_and_dotfiles_are_skipped(name):
    assert skip_reason(name) is not None


@pytest.mark.parametrize("name", ["möte 1.m4a", "Åsa & Örjan (2).flac", "a.partition.wav", "tmp.wav", "x"])
def test_ordinary_names_are_taken(name):
    assert skip_reason(name) is None


def test_split_and_free_names_never_reuse_a_taken_name():
    assert split_name("möte 1.m4a") == ("möte 1", ".m4a")
    assert split_name("README") == ("README", "")
    assert split_name("...") == ("...", "")
    long_stem, suffix = split_name("å" * 200 + ".wav")
    assert suffix == ".wav" and len(long_stem.encode()) <= 200 and long_stem == "å" * 100

    taken = {"möte.json", "möte (2).srt"}
    assert free_stem("möte", (".json", ".srt"), taken.__contains__) == "möte (3)"
    assert free_stem("ny", (".json",), taken.__contains__) == "ny"


def test_printable_names_for_messages():
    raw = b"inspelning-\xff.wav".decode("utf-8", "surrogateescape")
    assert printable(raw) == "inspelning-\ufffd.wav"
    assert printable("rad\nbryt.wav") == "rad?bryt.wav"
    assert printable("Göteborg möte.wav") == "Göteborg möte.wav"


# -- config --------------------------------------------------------------------------------


def test_config_in_toml_and_json():
    options = parse_folder_config('language = "sv"\ndiarize = true\nsummarize = false\nhotwords = "Kiruna"\n', "toml", "x")
    assert options.stored() == {"language": "sv", "diarize": True, "summarize": False, "hotwords": "Kiruna"}
    assert parse_folder_config('{"language": "auto", "prompt": "Förhör"}', "json", "x").stored() == {
        "language": "auto",
        "prompt": "Förhör",
    }
    assert JobOptions().stored() == {}
    assert parse_folder_config("diarize = true\nmax_speakers = 4\n", "toml", "x").stored() == {"diarize": True, "max_speakers": 4}


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ('colour = "blue"', "toml", "unknown key 'colour'"),
        ('language = "klingon"', "toml", "unknown language 'klingon'"),
        ('diarize = "yes"', "toml", "diarize must be true or false"),
        ("summarize = 1", "toml", "summarize must be true or false"),
        ("language = 5", "toml", "language must be a string"),
        ('language = "sv', "toml", "not valid TOML"),
        ('["sv"]', "json", "table of options"),
        ('{"prompt": "' + "x" * 2001 + '"}', "json", "prompt"),
        ("num_speakers = 2", "toml", "need diarize = true"),
        ("diarize = true\nmin_speakers = 4\nmax_speakers = 2", "toml", "larger than max_speakers"),
        ("diarize = true\nnum_speakers = 0", "toml", "num_speakers must be between 1 and 50"),
        ('diarize = true\nnum_speakers = "2"', "toml", "num_speakers must be a whole number"),
    ],
)
def test_bad_config_is_refused_with_the_file_and_key(text, kind, message):
    with pytest.raises(FolderConfigError) as error:
        parse_folder_config(text, kind, "/in/swescribe." + kind)
    assert message in str(error.value) and "/in/swescribe." + kind in str(error.value)


def test_config_file_lookup(tmp_path):
    assert load_folder_config(tmp_path) == JobOptions()
    (tmp_path / "swescribe.json").write_text('{"language": "en"}')
    assert load_folder_config(tmp_path).language == "en"
    (tmp_path / "swescribe.toml").write_text('language = "sv"')
    with pytest.raises(FolderConfigError, match="keep one"):
        load_folder_config(tmp_path)


# -- keys ----------------------------------------------------------------------------------


def test_dedupe_key_depends_on_content_and_options_only(tmp_path):
    key = idempotency_key("ab" * 32, {"language": "sv"})
    assert key.startswith("ingest:" + "ab" * 32) and len(key) <= 200
    assert key == idempotency_key("ab" * 32, {"language": "sv"})
    assert key != idempotency_key("ab" * 32, {"language": "en"})
    assert owner_for(tmp_path) == owner_for(tmp_path) and len(owner_for(tmp_path)) <= 32
    assert owner_for(tmp_path) != owner_for(tmp_path / "other")


# -- results -------------------------------------------------------------------------------


def test_outputs_in_every_format():
    from tests.transcripts import segment, words
    from tests.transcripts import transcript as make_transcript
    from workers.transcript.formats import to_json

    transcript = make_transcript(segment(0, words((0.0, 0.5, "Hej"), (0.5, 1.0, "Åsa."))), duration_s=2.0)
    stored = to_json(transcript)
    outputs = transcript_outputs(stored)
    assert set(outputs) == {".json", ".txt", ".plain.txt", ".srt", ".vtt", ".docx"}
    assert outputs[".json"] == stored.encode("utf-8") and outputs[".vtt"].startswith(b"WEBVTT")
    assert outputs[".docx"].startswith(b"PK")  # a zip: the Word document


def test_a_diarized_transcript_also_gets_rttm_named_after_the_recording():
    from tests.transcripts import segment, words
    from tests.transcripts import transcript as make_transcript
    from workers.pipeline.diarize import Diarization
    from workers.pipeline.speakers import assign_speakers
    from workers.transcript.formats import to_json
    from workers.transcript.types import Speaker, SpeakerTurn

    plain = make_transcript(segment(0, words((0.0, 0.5, "Hej"), (0.6, 1.0, "där."))), duration_s=2.0)
    turns = (SpeakerTurn(0.0, 0.55, "Talare 1"), SpeakerTurn(0.55, 1.2, "Talare 2"))
    diarized = assign_speakers(plain, Diarization(turns, (Speaker("Talare 1", 0.55), Speaker("Talare 2", 0.65)), "m", 0.1))
    outputs = transcript_outputs(to_json(diarized), "möte 3")
    assert set(outputs) == {".json", ".txt", ".plain.txt", ".srt", ".vtt", ".rttm", ".docx"}
    assert outputs[".rttm"].decode().startswith("SPEAKER möte_3 1 0.000 0.550 ")
    assert outputs[".txt"].decode() == "[00:00] Talare 1: Hej\n[00:00] Talare 2: där.\n"


# -- folder and claims ---------------------------------------------------------------------


def test_prepare_creates_subfolders_and_refuses_links_and_missing_folders(tmp_path):
    layout = prepare_folder(tmp_path)
    assert all((tmp_path / n).is_dir() for n in ("inbox", "outbox", "done", "failed", ".processing"))
    with pytest.raises(IngestFolderError, match="no such folder"):
        prepare_folder(tmp_path / "saknas")
    (tmp_path / "fil").write_text("x")
    with pytest.raises(IngestFolderError, match="not a folder"):
        prepare_folder(tmp_path / "fil")
    other = tmp_path / "annan"
    other.mkdir()
    (other / "inbox").mkdir()
    (other / "outbox").symlink_to(tmp_path / "outside")
    with pytest.raises(IngestFolderError, match="symbolic link"):
        prepare_folder(other)
    with folder_lock(layout), pytest.raises(IngestFolderError, match="already working"), folder_lock(layout):
        pass


def test_the_folder_lock_holds_across_processes_and_dies_with_its_holder(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    layout = prepare_folder(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from workers.ingest.layout import folder_lock, prepare_folder\n"
            "with folder_lock(prepare_folder(Path(sys.argv[1]))):\n    print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IngestFolderError, match="another swescribe ingest is already working"), folder_lock(layout):
            pass
    finally:
        holder.kill()  # SIGKILL: no cleanup in the holder, the kernel drops its lock
        holder.wait()
    with folder_lock(layout):
        pass


def test_atomic_write_and_move_never_overwrite(tmp_path):
    write_atomically(tmp_path / "a.txt", b"first")
    write_atomically(tmp_path / "a.txt", b"second")
    assert (tmp_path / "a.txt").read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporaries left
    (tmp_path / "b.txt").write_text("b")
    with pytest.raises(FileExistsError):
        move_no_overwrite(tmp_path / "b.txt", tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_bytes() == b"second" and (tmp_path / "b.txt").exists()
    move_no_overwrite(tmp_path / "b.txt", tmp_path / "c.txt")
    assert not (tmp_path / "b.txt").exists() and (tmp_path / "c.txt").read_text() == "b"


def test_claims_survive_a_restart_and_half_made_claims_are_undone(tmp_path):
    layout = prepare_folder(tmp_path)
    name = "Åsa möte 2.flac"
    (layout.inbox / name).write_bytes(b"audio")
    claim = claim_file(layout, name)
    assert not (layout.inbox / name).exists() and claim.audio.read_bytes() == b"audio"
    claim.update(sha256="00" * 32)

    # Killed between writing a claim's record and renaming its file: the file is still in the inbox.
    (layout.inbox / "b.wav").write_bytes(b"b")
    half = layout.processing / "half"
    half.mkdir()
    (half / "state.json").write_text(json.dumps({"name": "b.wav", "audio": "audio.wav", "claimed_at": "x"}))
    (layout.processing / "empty").mkdir()
    # Killed while the first state record was being written: only its temporary is there.
    unwritten = layout.processing / "unwritten"
    unwritten.mkdir()
    (unwritten / ".f3a9c1.part").write_bytes(b'{"name": "b.w')
    # Something else without a record is not ours to remove.
    unknown = layout.processing / "unknown"
    unknown.mkdir()
    (unknown / "audio.wav").write_bytes(b"x")

    resumed = load_claims(layout)
    assert [(c.name, c.state["sha256"]) for c in resumed] == [(name, "00" * 32)]
    assert not half.exists() and not (layout.processing / "empty").exists() and not unwritten.exists()
    assert (unknown / "audio.wav").exists()
    (unknown / "audio.wav").unlink()
    unknown.rmdir()
    assert (layout.inbox / "b.wav").exists()
    with pytest.raises(FileNotFoundError):
        claim_file(layout, "gone.wav")
    assert os.listdir(layout.processing) == [claim.id]


def test_state_paths_cannot_leave_the_folder(tmp_path):
    layout = prepare_folder(tmp_path)
    assert layout.inside("outbox/a.json") == layout.root / "outbox" / "a.json"
    for bad in ("../x", "/etc/passwd", "outbox/../../x"):
        with pytest.raises(IngestFolderError):
            layout.inside(bad)
