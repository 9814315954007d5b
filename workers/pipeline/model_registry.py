"""Turn a model name or folder into a local CTranslate2 Whisper folder.

Names: the KB-Whisper sizes (KBLab's Swedish Whisper, CTranslate2 weights at the root of
each Hub repo), `whisper-base-offline` (registry-installed weights), any other Hub repo id
("owner/name"), or a local folder. Nothing ever falls back to a different model: a model that
cannot be had is an error that says how to get it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from workers.pipeline.offline_model import OFFLINE_MODEL_NAME, OFFLINE_MODEL_REVISION, offline_model_dir
from workers.transcript.errors import ModelNotFoundError, ModelUnavailableError

logger = logging.getLogger(__name__)

KB_WHISPER_REPOS = {
    "kb-whisper-large": "KBLab/kb-whisper-large",
    "kb-whisper-medium": "KBLab/kb-whisper-medium",
    "kb-whisper-small": "KBLab/kb-whisper-small",
    "kb-whisper-base": "KBLab/kb-whisper-base",
    "kb-whisper-tiny": "KBLab/kb-whisper-tiny",
}
KNOWN_MODEL_NAMES = (*KB_WHISPER_REPOS, OFFLINE_MODEL_NAME)

# Files faster-whisper needs from a CTranslate2 Whisper repo; KB-Whisper repos also hold
# PyTorch and ONNX weights that are not worth gigabytes of download.
_HUB_ALLOW_PATTERNS = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]
REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
DEFAULT_HUB_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True)
class ModelSource:
    """A model ready to load: the name it was asked by and the local folder it lives in."""

    name: str
    path: Path
    revision: str | None


@dataclass(frozen=True)
class HubOptions:
    """How to reach the Hugging Face Hub for models that are not on disk yet.

    cache_dir: where Hub downloads are kept (None: huggingface_hub's default cache).
    token: for gated or private repos.
    probe_timeout_s: the Hub must answer a metadata request within this, so an unreachable
        Hub fails in seconds instead of hanging in retries.
    """

    cache_dir: Path | None = None
    token: str | None = None
    probe_timeout_s: float = 5.0


def resolve_model(name_or_dir: str, *, cache_dir: Path, hub: HubOptions = HubOptions()) -> ModelSource:
    """Find (and if need be assemble or download) the weights for `name_or_dir`.

    cache_dir holds the assembled offline model.
    """
    if name_or_dir == OFFLINE_MODEL_NAME:
        return ModelSource(OFFLINE_MODEL_NAME, offline_model_dir(cache_dir), OFFLINE_MODEL_REVISION)
    if name_or_dir in KB_WHISPER_REPOS:
        return _resolve_hub(name_or_dir, KB_WHISPER_REPOS[name_or_dir], hub)

    folder = Path(name_or_dir).expanduser()
    if folder.is_dir():
        return ModelSource(name_or_dir, _check_model_folder(folder), None)
    if REPO_ID_PATTERN.match(name_or_dir) and not folder.exists():
        return _resolve_hub(name_or_dir, name_or_dir, hub)
    raise ModelNotFoundError(
        f"unknown model {name_or_dir!r}: not a folder and not a known name "
        f"({', '.join(KNOWN_MODEL_NAMES)}) or a Hub repo id (owner/name)"
    )


def _check_model_folder(folder: Path) -> Path:
    missing = [name for name in ("model.bin", "config.json") if not (folder / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"folder {folder} is not a CTranslate2 Whisper model (missing {', '.join(missing)}); "
            "download one, e.g. `hf download KBLab/kb-whisper-large --local-dir DIR`"
        )
    return folder.resolve()


def how_to_get(repo_id: str, setting: str = "SWESCRIBE_ASR_MODEL") -> str:
    folder = f"/srv/models/{repo_id.split('/')[-1]}"
    return (
        f"on a machine with Hub access run `hf download {repo_id} --local-dir {folder}` "
        f"(huggingface_hub's CLI), copy {folder} here and set {setting}={folder}"
    )


def _resolve_hub(name: str, repo_id: str, hub: HubOptions) -> ModelSource:
    path = hub_snapshot(name, repo_id, hub, what="model", advice=how_to_get(repo_id), allow_patterns=_HUB_ALLOW_PATTERNS)
    return ModelSource(name, _check_model_folder(path), path.name)


def hub_endpoint() -> str:
    # Read per call, not at import as huggingface_hub's constants are, so HF_ENDPOINT set by
    # the operator (a mirror) or a test after import is the one used.
    return os.environ.get("HF_ENDPOINT", DEFAULT_HUB_ENDPOINT).rstrip("/")


def hub_snapshot(
    name: str, repo_id: str, hub: HubOptions, *, what: str, advice: str, allow_patterns: list[str] | None = None
) -> Path:
    """The local snapshot folder of a Hub repo (its name is the commit): from the cache if it
    is there, else downloaded after a quick probe, so an unreachable Hub fails within
    hub.probe_timeout_s instead of hanging in retries. `what` names the model in errors
    ("model", "diarization model"); `advice` (how to get it without the Hub) ends them."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    def download(local_files_only: bool) -> Path:
        return Path(
            huggingface_hub.snapshot_download(
                repo_id,
                allow_patterns=allow_patterns,
                cache_dir=hub.cache_dir,
                token=hub.token,
                local_files_only=local_files_only,
                endpoint=hub_endpoint(),
            )
        )

    try:
        return download(local_files_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError):
        pass  # not cached yet

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise ModelUnavailableError(f"{what} {name!r} ({repo_id}) is not in the local cache and HF_HUB_OFFLINE is set; {advice}")
    probe_hub(name, repo_id, hub, advice, what=what)
    try:
        return download(local_files_only=False)
    except Exception as e:  # noqa: BLE001 - huggingface_hub raises many network types
        raise ModelUnavailableError(f"{what} {name!r} ({repo_id}) could not be downloaded ({e}); {advice}") from e


def probe_hub(name: str, repo_id: str, hub: HubOptions, advice: str, what: str = "model") -> None:
    """Ask the Hub about the repo with a short deadline; raise a clear error (ending in
    `advice`: how to get the model) if it cannot answer."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, HTTPError, RepositoryNotFoundError

    endpoint = hub_endpoint()
    try:
        HfApi(endpoint=endpoint, token=hub.token).model_info(repo_id, timeout=hub.probe_timeout_s)
    except HfHubHTTPError as e:
        status = e.response.status_code
        # The Hub answers 401 both for a missing repo and for a private or gated one without a
        # token that has access; huggingface_hub calls both RepositoryNotFoundError.
        if isinstance(e, GatedRepoError) or status in (401, 403):
            raise ModelUnavailableError(
                f"{what} {name!r} ({repo_id}) needs a Hub token with access (HTTP {status}); {advice}"
            ) from e
        if isinstance(e, RepositoryNotFoundError) or status == 404:
            raise ModelNotFoundError(f"{what} {name!r}: the Hub at {endpoint} has no repo {repo_id}") from e
        raise ModelUnavailableError(f"{what} {name!r}: the Hub at {endpoint} answered HTTP {status}; {advice}") from e
    # HTTPError: connection refused, DNS, timeouts (huggingface_hub's HTTP client's base error);
    # OSError: offline mode and socket errors; ValueError/KeyError: an answer that is not the Hub's.
    except (HTTPError, OSError, ValueError, KeyError) as e:
        raise ModelUnavailableError(
            f"{what} {name!r} ({repo_id}) is not in the local cache and the Hub at {endpoint} is unreachable ({e}); {advice}"
        ) from e
