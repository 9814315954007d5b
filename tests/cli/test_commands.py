"""The command line's shape: each subcommand in its own module, --help without the model code,
and `swescribe transcribe` refusing exactly the job options the API refuses."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workers.commands.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMANDS_DIR = REPO_ROOT / "workers" / "commands"
MODEL_LIBRARIES = ("faster_whisper", "ctranslate2", "torch", "pyannote", "llama_cpp")


def test_help_of_every_command_loads_no_model_code():
    # A fresh interpreter, as `swescribe --help` runs: the test process itself has loaded more.
    code = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from workers.commands.cli import main\n"
        "runner = CliRunner()\n"
        "calls = [['--help']] + [[name, '--help'] for name in main.commands]\n"
        "calls += [['db', 'upgrade', '--help'], ['keys', 'create', '--help']]\n"
        "failed = [(c, r.output) for c in calls if (r := runner.invoke(main, c)).exit_code != 0]\n"
        f"loaded = sorted({{m for m in sys.modules if m.split('.')[0] in {MODEL_LIBRARIES!r}}})\n"
        "print(json.dumps({'failed': failed, 'loaded': loaded}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"failed": [], "loaded": []}


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "workers.commands.cli", "--help"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for name in ("transcribe", "eval", "up", "api", "worker", "ingest", "db", "keys"):
        assert f"  {name} " in result.stdout


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in COMMANDS_DIR.glob("*.py") if p.name != "cli.py"))
def test_no_command_module_imports_the_group(module):
    assert "workers.commands.cli" not in _imports(COMMANDS_DIR / module)


def test_each_subcommand_lives_in_its_own_module():
    modules = {name: command.callback.__module__ for name, command in main.commands.items()}
    assert modules == {
        name: f"workers.commands.{module}"
        for name, module in [
            ("transcribe", "transcribe"),
            ("summarize", "summarize_command"),
            ("eval", "evaluate"),
            ("eval-summary", "eval_summary"),
            ("up", "up"),
            ("api", "api"),
            ("worker", "worker"),
            ("ingest", "ingest"),
            ("db", "db"),
            ("keys", "keys"),
            ("redact", "redact"),
            ("tenants", "tenants"),
            ("audit", "audit"),
        ]
    }


def test_the_formats_offered_are_those_the_renderer_knows():
    from workers.commands.transcribe import OUTPUT_FORMATS
    from workers.transcript.formats import FORMATS

    assert OUTPUT_FORMATS == FORMATS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--language", "klingon"], "--language: unknown language 'klingon'"),
        (["--prompt", "x" * 2001], "--prompt: String should have at most 2000 characters"),
        (["--hotwords", "x" * 1001], "--hotwords: String should have at most 1000 characters"),
        (["--num-speakers", "2"], "--num-speakers, --min-speakers and --max-speakers need --diarize"),
        (["--format", "rttm"], "need --diarize"),
        (["--diarize", "--min-speakers", "3", "--max-speakers", "2"], "--min-speakers (3) is larger than --max-speakers (2)"),
        (["--diarize", "--num-speakers", "2", "--min-speakers", "1"], "either --num-speakers or --min-speakers/--max-speakers"),
    ],
)
def test_transcribe_refuses_what_a_job_would_be_refused_before_any_work(tmp_path, args, message):
    result = CliRunner().invoke(main, ["transcribe", str(tmp_path / "a.wav"), *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()
