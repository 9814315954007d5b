"""The cost meter as the operator configured it: the speech model's device and the per-device
power figures of the settings (SWESCRIBE_ENERGY_*), for the transcription job's stages."""

from __future__ import annotations

from workers.pipeline.asr_model import DeviceOptions, pick_device
from workers.pipeline.cost import CostMeter, DeviceFigures
from workers.settings import Settings


def device_figures(settings: Settings) -> DeviceFigures:
    return DeviceFigures(
        cpu_watts_per_core=settings.energy_cpu_watts_per_core,
        gpu_board_watts=settings.energy_gpu_board_watts,
    )


def configured_meter(settings: Settings) -> CostMeter:
    """A meter for one job (or one batch) on the device the speech model runs on, chosen as
    load_configured_model chooses it, so it can be made before the model is loaded."""
    device, _ = pick_device(DeviceOptions(settings.asr_device, settings.asr_compute_type, settings.asr_cpu_threads))
    return CostMeter(device, device_figures(settings))
