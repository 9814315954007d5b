"""`swescribe transcribe --summarize`: the summary lands in the JSON output and <stem>.summary.md;
a failing LLM never costs the transcript; with no endpoint the embedded model is started and
stopped by the command itself."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from tests.chat_endpoint import ChatEndpoint
from workers.summary.render import escape
from workers.summary.schema import Summary

SWESCRIBE = [sys.executable, "-m", "workers.commands.cli"]
pytestmark = [pytest.mark.model]


@pytest.fixture
def run(tmp_path, model_cache):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWESCRIBE_LLM_")}
    env.update(
        {
            "SWESCRIBE_DATA_DIR": str(tmp_path / "data"),
            "SWESCRIBE_MODEL_CACHE_DIR": str(model_cache),
            "SWESCRIBE_ASR_CPU_THREADS": "2",
            "HF_HUB_OFFLINE": "1",
        }
    )

    def swescribe(*args, extra_env=None, timeout=300):
        return subprocess.run(
            [*SWESCRIBE, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**env, **(extra_env or {})},
            cwd=Path(__file__).resolve().parents[2],
        )

    return swescribe


@pytest.fixture
def endpoint():
    server = ChatEndpoint()
    yield server
    server.close()


def test_the_summary_goes_into_the_json_and_a_markdown_file(run, tmp_path, endpoint, real_speech_entries):
    clip = real_speech_entries[0]["path"]
    out = tmp_path / "out"
    result = run(
        "transcribe",
        clip,
        "--summarize",
        "--format",
        "json",
        "--format",
        "txt-plain",
        "--format",
        "docx",
        "--out",
        out,
        "--no-progress",
        extra_env={"SWESCRIBE_LLM_BASE_URL": endpoint.base_url, "SWESCRIBE_LLM_MODEL": "mistral-small-latest"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((out / f"{clip.stem}.json").read_text())
    summary = Summary.model_validate(data["summary"])
    assert summary.model == "mistral-small-latest" and "summary_error" not in data
    assert {c.segment_id for d in summary.decisions for c in d.citations} <= {s["id"] for s in data["segments"]}
    markdown = (out / f"{clip.stem}.summary.md").read_text()
    assert markdown.startswith(f"# Sammanfattning: {escape(clip.name)}\n") and escape(summary.abstract) in markdown
    assert (out / f"{clip.stem}.plain.txt").read_text().strip() == data["text"].strip()
    document = "\n".join(p.text for p in docx.Document(str(out / f"{clip.stem}.docx")).paragraphs)
    assert document.startswith(clip.name) and summary.abstract in document and "Transkription" in document
    assert len(endpoint.requests) == 1


def test_a_failing_llm_leaves_the_transcript_and_says_why(run, tmp_path, endpoint, real_speech_entries):
    endpoint.answers = [(500, "down")] * 10
    clip = real_speech_entries[0]["path"]
    out = tmp_path / "out"
    result = run(
        "transcribe",
        clip,
        "--summarize",
        "--out",
        out,
        "--no-progress",
        extra_env={
            "SWESCRIBE_LLM_BASE_URL": endpoint.base_url,
            "SWESCRIBE_LLM_MAX_RETRIES": "1",
            "SWESCRIBE_LLM_RETRY_BASE_S": "0",
        },
    )
    assert result.returncode == 1
    assert re.search(r"^error: .*summary failed \(transcript written\): .*answered 500", result.stderr, re.MULTILINE)
    data = json.loads((out / f"{clip.stem}.json").read_text())
    assert data["segments"] and data["summary"] is None and "500" in data["summary_error"]
    assert not (out / f"{clip.stem}.summary.md").exists()
    assert len(endpoint.requests) == 2


@pytest.mark.llm
def test_without_an_endpoint_the_embedded_model_runs_for_the_command(run, tmp_path, real_speech_entries):
    clip = real_speech_entries[0]["path"]
    out = tmp_path / "out"
    result = run(
        "transcribe",
        clip,
        "--summarize",
        "--out",
        out,
        "--no-progress",
        timeout=600,
        extra_env={"SWESCRIBE_LLM_CONTEXT_TOKENS": "4096", "SWESCRIBE_LLM_MAX_OUTPUT_TOKENS": "600"},
    )
    assert result.returncode == 0, result.stderr
    assert "starting the embedded summary model" in result.stderr
    summary = Summary.model_validate(json.loads((out / f"{clip.stem}.json").read_text())["summary"])
    assert summary.model == "qwen2.5-coder-1.5b-instruct-offline"
    assert (out / f"{clip.stem}.summary.md").is_file()
    log = (tmp_path / "data" / "logs" / "llm.log").read_text(errors="replace")
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)", log).group(1))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()  # stopped with the command
