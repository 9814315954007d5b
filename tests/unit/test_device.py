"""Device choice: float16 on a GPU, int8 on the CPU, by the same code (the GPU is mocked)."""

import pytest

from workers.pipeline.asr_model import DeviceOptions, pick_device


@pytest.mark.parametrize(
    ("gpus", "options", "expected"),
    [
        (0, DeviceOptions(), ("cpu", "int8")),
        (2, DeviceOptions(), ("cuda", "float16")),
        (2, DeviceOptions(device="cpu"), ("cpu", "int8")),
        (1, DeviceOptions(compute_type="int8_float16"), ("cuda", "int8_float16")),
        (0, DeviceOptions(device="cuda"), ("cuda", "float16")),
    ],
)
def test_pick_device(monkeypatch, gpus, options, expected):
    # asr_model imports ctranslate2 where it needs it: patch the module itself.
    monkeypatch.setattr("ctranslate2.get_cuda_device_count", lambda: gpus)
    assert pick_device(options) == expected
