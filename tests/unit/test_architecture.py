"""The layering rules of DESIGN.md, checked on the source with `ast` (nothing is imported).

- workers/pipeline is pure functions: no Celery, FastAPI, Redis, SQLAlchemy, nor the settings,
  so the CLI, the worker and the tests call the same code.
- app/ (the API process) never loads the ML stack: no torch, faster-whisper, pyannote, ...
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PIPELINE_FORBIDDEN = ("celery", "fastapi", "redis", "starlette", "sqlalchemy", "workers.settings")
APP_FORBIDDEN = ("torch", "torchaudio", "faster_whisper", "ctranslate2", "pyannote", "onnxruntime")

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
        "from workers.pipeline.types import Word",
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
