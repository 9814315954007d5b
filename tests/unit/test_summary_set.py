"""The summary evaluation set (audio_fixtures/summaries: hand-written synthetic conversations) is
what its README promises, and its committed files are what the generator makes of the source."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from workers.evaluation.summary_report import load_summary_manifest
from workers.evaluation.summary_scoring import parse_keys
from workers.transcript.formats import to_dict, transcript_from_json

SET_DIR = Path(__file__).resolve().parents[2] / "audio_fixtures" / "summaries"
CASE_TYPES = {"social_services", "police_interview", "healthcare_visit", "insurance_claim", "municipal_meeting", "customer_call"}


@pytest.fixture(scope="module")
def entries():
    return load_summary_manifest(SET_DIR / "manifest.jsonl")


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("make_summary_set", SET_DIR / "make_summary_set.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_set_covers_case_types_lengths_speakers_and_recognition_errors(entries):
    assert len(entries) >= 20
    assert {e.case_type for e in entries} == CASE_TYPES
    assert all(60 <= e.duration_s <= 15.5 * 60 for e in entries)
    assert max(e.duration_s for e in entries) > 14 * 60
    assert {len(e.reference["roles"]) for e in entries} == {1, 2, 3, 4, 5}
    assert Counter(e.recognition for e in entries)["asr_errors"] >= 4
    assert all(e.synthetic for e in entries)


def test_every_conversation_has_facts_and_three_kinds_of_trap(entries):
    for e in entries:
        ref = e.reference
        assert ref["matter"] and ref["action_items"], e.id
        assert {t["kind"] for t in ref["traps"]} == {"hypothetical", "retracted", "number"}, e.id
        for keys in [ref["matter"], *ref["roles"].values(), *ref["decisions"], *(t["keys"] for t in ref["traps"])]:
            assert all(term.alternatives for term in parse_keys(keys)), (e.id, keys)


def test_transcripts_load_and_their_speakers_are_the_references(entries):
    for e in entries:
        transcript = transcript_from_json(e.path.read_text(encoding="utf-8"))
        assert {s.speaker for s in transcript.segments} == set(e.reference["roles"]), e.id
        starts = [s.start_s for s in transcript.segments]
        assert starts == sorted(starts) and all(s.end_s > s.start_s for s in transcript.segments)
        assert transcript.duration_s == e.duration_s and transcript.segments[-1].end_s <= transcript.duration_s


def test_the_committed_files_are_the_generators_output(generator, entries):
    conversations = generator.parse((SET_DIR / "conversations.txt").read_text(encoding="utf-8"))
    assert [c.id for c in conversations] == [e.id for e in entries]
    manifest_lines = (SET_DIR / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    for conv, line in zip(conversations, manifest_lines):
        transcript, fillers = generator.build(conv)
        committed = json.loads((SET_DIR / "transcripts" / f"{conv.id}.json").read_text(encoding="utf-8"))
        assert committed == json.loads(json.dumps(to_dict(transcript))), conv.id
        assert json.loads(line) == generator.manifest_entry(conv, transcript, fillers), conv.id
