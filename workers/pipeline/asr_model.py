"""Load a Whisper model once per process, on the GPU when there is one."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.extras import require_extras
from workers.pipeline.model_registry import ModelSource
from workers.transcript.errors import ModelNotFoundError
from workers.transcript.types import ModelInfo

# faster-whisper and CTranslate2 come with the `worker` extra: imported where a model is picked
# or loaded, so the cpu worker (the API image, without the extra) can import the task modules.
if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceOptions:
    """Where and how the model runs.

    device: "auto" (CUDA when a GPU is visible, else CPU), "cuda" or "cpu".
    compute_type: "auto" (float16 on CUDA, int8 on CPU) or any CTranslate2 type.
    cpu_threads: CPU threads for one transcription; 0 lets CTranslate2 decide.
    """

    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0


@dataclass(frozen=True, eq=False)
class LoadedModel:
    whisper: WhisperModel
    info: ModelInfo
    load_s: float


def pick_device(options: DeviceOptions) -> tuple[str, str]:
    """Return (device, compute_type) for `options` on this machine."""
    device = options.device
    if device == "auto":
        require_extras("speech recognition", "worker")
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute_type = options.compute_type
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


@functools.lru_cache(maxsize=2)
def load_model(source: ModelSource, options: DeviceOptions = DeviceOptions()) -> LoadedModel:
    """Load `source` (cached: a worker process loads each model once)."""
    require_extras("speech recognition", "worker")
    from faster_whisper import WhisperModel

    device, compute_type = pick_device(options)
    started = time.perf_counter()
    try:
        whisper = WhisperModel(
            str(source.path),
            device=device,
            compute_type=compute_type,
            cpu_threads=options.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelNotFoundError(f"model {source.name!r} at {source.path} could not be loaded: {e}") from e
    load_s = time.perf_counter() - started
    logger.info("loaded %s on %s/%s in %.1f s", source.name, device, compute_type, load_s)
    info = ModelInfo(id=source.name, revision=source.revision, device=device, compute_type=compute_type)
    return LoadedModel(whisper=whisper, info=info, load_s=load_s)
