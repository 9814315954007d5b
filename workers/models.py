"""The speech model as configured by the operator's settings (one place for CLI and workers)."""

from __future__ import annotations

from .pipeline.asr_model import DeviceOptions, LoadedModel, load_model
from .pipeline.model_registry import HubOptions, resolve_model
from .settings import Settings


def load_configured_model(name: str, settings: Settings) -> LoadedModel:
    hub = HubOptions(
        cache_dir=settings.model_cache_dir,
        token=settings.hf_token.get_secret_value() if settings.hf_token else None,
        probe_timeout_s=settings.hub_timeout_s,
    )
    source = resolve_model(name, cache_dir=settings.models_dir, hub=hub)
    device = DeviceOptions(settings.asr_device, settings.asr_compute_type, settings.asr_cpu_threads)
    return load_model(source, device)
