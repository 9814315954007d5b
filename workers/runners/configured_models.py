"""The speech and diarization models as configured by the operator's settings (one place for
CLI and workers)."""

from __future__ import annotations

from workers.pipeline.asr_model import DeviceOptions, LoadedModel, load_model
from workers.pipeline.batch_choice import batch_size_for
from workers.pipeline.diarization_model import LoadedDiarizer, load_diarizer, resolve_diarizer
from workers.pipeline.model_registry import HubOptions, resolve_model
from workers.settings import Settings


def hub_options(settings: Settings) -> HubOptions:
    return HubOptions(
        cache_dir=settings.model_cache_dir,
        token=settings.hf_token.get_secret_value() if settings.hf_token else None,
        probe_timeout_s=settings.hub_timeout_s,
    )


def load_configured_model(name: str, settings: Settings) -> LoadedModel:
    source = resolve_model(name, cache_dir=settings.models_dir, hub=hub_options(settings))
    device = DeviceOptions(settings.asr_device, settings.asr_compute_type, settings.asr_cpu_threads)
    return load_model(source, device)


def long_batch_size(settings: Settings) -> int:
    """Speech chunks decoded at once in a long recording: the operator's, else the measured
    default for the device the model runs on (workers/pipeline/batch_choice.py)."""
    return batch_size_for(settings.asr_long_batch_size, settings.asr_device)


def load_configured_diarizer(settings: Settings) -> LoadedDiarizer:
    source = resolve_diarizer(settings.diarization_model, hub_options(settings))
    return load_diarizer(source, settings.diarization_device, settings.diarization_cpu_threads)
