"""The optional parts of the install (the extras in pyproject.toml) and the one-line message a
command gives when it needs one that is not installed.

The base install is the API's; each other process installs an extra: `worker` (transcription:
the gpu worker, `swescribe transcribe`, `swescribe up`), `diarization` (speakers), `llm` (the
embedded summary model) and `eval` (`swescribe eval`). Code that needs one checks here before
it imports the library, so a host without it gets "install X" instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import sys

from workers.transcript.errors import ModelNotFoundError

# A command's exit code when an extra it needs is missing (as for a model that cannot be loaded).
EXIT_MISSING_EXTRA = 3

# The modules each extra brings that this code imports: one missing means the extra is missing.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "worker": ("faster_whisper", "ctranslate2"),
    "diarization": ("torch", "torchaudio", "pyannote.audio"),
    "llm": ("llama_cpp",),
    "eval": ("jiwer", "matplotlib"),
    "redaction": ("stdnum", "phonenumbers"),
}


class MissingExtraError(ModelNotFoundError):
    """A command needs an extra of the install that this host does not have."""

    def __init__(self, what: str, extras: tuple[str, ...]):
        self.extras = extras
        super().__init__(missing_extra_message(what, extras))


def install_command(*extras: str) -> str:
    return f"pip install 'swescribe[{','.join(extras)}]'"


def missing_extra_message(what: str, extras: tuple[str, ...]) -> str:
    """E.g. "speech recognition needs the worker extra: pip install 'swescribe[worker]'"."""
    names = " and ".join(extras)
    noun, verb = ("extras", "are") if len(extras) > 1 else ("extra", "is")
    return f"{what} needs the {names} {noun}, which {verb} not installed here: {install_command(*extras)}"


def is_installed(extra: str) -> bool:
    return all(_module_available(module) for module in EXTRA_MODULES[extra])


def missing_extras(*extras: str) -> tuple[str, ...]:
    """The extras of `extras` that are not installed, in the order given."""
    return tuple(extra for extra in extras if not is_installed(extra))


def require_extras(what: str, *extras: str) -> None:
    """Raise MissingExtraError (a ModelNotFoundError) naming every extra of `extras` that is missing."""
    missing = missing_extras(*extras)
    if missing:
        raise MissingExtraError(what, missing)


def exit_unless_installed(what: str, *extras: str) -> None:
    """For commands, before they import what the extras bring: one line on stderr naming the
    extras to install, and exit EXIT_MISSING_EXTRA (no traceback)."""
    import click

    missing = missing_extras(*extras)
    if missing:
        click.echo(f"swescribe: {missing_extra_message(what, missing)}", err=True)
        sys.exit(EXIT_MISSING_EXTRA)


def _module_available(module: str) -> bool:
    # find_spec looks the module up without importing it (for "a.b" it imports the package "a").
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
