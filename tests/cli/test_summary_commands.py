"""`swescribe summarize` and `swescribe eval-summary` against a scripted OpenAI-compatible
endpoint on 127.0.0.1 (tests/chat_endpoint.py; no model): what they write, and how they refuse."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chat_endpoint import ChatEndpoint
from tests.meeting_transcripts import CASE_CALL, meeting
from workers.summary.schema import Summary
from workers.transcript.formats import to_json

REPO_ROOT = Path(__file__).resolve().parents[2]
SWESCRIBE = [sys.executable, "-m", "workers.commands.cli"]


@pytest.fixture
def endpoint():
    server = ChatEndpoint()
    yield server
    server.close()


@pytest.fixture
def swescribe(tmp_path, endpoint):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWESCRIBE_")}
    env.update(
        {
            "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
            "SWESCRIBE_LLM_BASE_URL": endpoint.base_url,
            "SWESCRIBE_LLM_MODEL": "mistral-small-latest",
            "SWESCRIBE_LLM_RETRY_BASE_S": "0",
        }
    )

    def run(*args):
        return subprocess.run([*SWESCRIBE, *map(str, args)], capture_output=True, text=True, timeout=120, env=env, cwd=REPO_ROOT)

    return run


def test_summarize_writes_json_and_markdown_with_linked_citations(swescribe, tmp_path):
    transcript = tmp_path / "in" / "samtal.json"
    transcript.parent.mkdir()
    transcript.write_text(to_json(meeting(CASE_CALL)), encoding="utf-8")
    result = swescribe("summarize", transcript, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    summary = Summary.model_validate_json((tmp_path / "out" / "samtal.summary.json").read_text(encoding="utf-8"))
    assert summary.decisions and summary.model == "mistral-small-latest" and summary.notice is None
    md = (tmp_path / "out" / "samtal.summary.md").read_text(encoding="utf-8")
    first = summary.decisions[0].citations[0]
    assert f"[[00:{int(first.start_s):02d}]](../in/samtal.json#segment-{first.segment_id}) segment {first.segment_id}" in md


def test_summarize_refuses_a_file_that_is_not_a_transcript_before_asking_any_model(swescribe, tmp_path, endpoint):
    good = tmp_path / "samtal.json"
    good.write_text(to_json(meeting(CASE_CALL)), encoding="utf-8")
    bad = tmp_path / "anteckningar.json"
    bad.write_text('{"text": "inte en transkription"}', encoding="utf-8")
    result = swescribe("summarize", good, bad, "--out", tmp_path / "out")
    assert result.returncode == 2 and "anteckningar.json" in result.stderr and "not a swescribe transcript" in result.stderr
    assert endpoint.requests == [] and not (tmp_path / "out" / "samtal.summary.json").exists()


def test_eval_summary_scores_a_subset_and_prints_the_fact_recall_last(swescribe, tmp_path):
    result = swescribe(
        "eval-summary", "--only", "soc01_ekonomiskt_bistand", "--only", "hc01_diabetes", "--out", tmp_path / "acc", "--name", "s"
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d\.\d{4}", result.stdout.strip().splitlines()[-1])
    report = json.loads((tmp_path / "acc" / "s.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in report["entries"]] == ["soc01_ekonomiskt_bistand", "hc01_diabetes"]
    assert report["run"]["model"] == "mistral-small-latest" and report["overall"]["missing_citations"] == 0
    assert "| hc01_diabetes |" in (tmp_path / "acc" / "s.md").read_text(encoding="utf-8")


def test_eval_summary_refuses_an_unknown_conversation(swescribe, tmp_path):
    result = swescribe("eval-summary", "--only", "nope", "--out", tmp_path / "acc")
    assert result.returncode == 2 and "nope" in result.stderr
