"""The default batch size per device, and that a configured one always wins."""

import pytest

from workers.pipeline.batch_choice import CPU_BATCH_SIZE, CUDA_BATCH_SIZE, batch_size_for, default_batch_size
from workers.pipeline.transcribe import TranscribeOptions


def test_gpu_decodes_in_batches_of_eight():
    assert default_batch_size("cuda") == CUDA_BATCH_SIZE == 8


def test_cpu_decodes_in_batches_of_four_as_measured():
    # bench/long_batched: 4 is 3-5x faster than sequential on 2 cores, 8 no faster than 4 and heavier.
    assert default_batch_size("cpu") == CPU_BATCH_SIZE == 4


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_every_default_is_a_valid_transcribe_option(device):
    # TranscribeOptions refuses batch_size < 1; the default must always be accepted.
    assert TranscribeOptions(batch_size=default_batch_size(device)).batch_size >= 1


@pytest.mark.parametrize("device", ["auto", "mps", "", "CUDA"])
def test_an_unresolved_or_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match="unknown device"):
        default_batch_size(device)


@pytest.mark.parametrize(("configured", "device"), [(1, "cuda"), (4, "cpu"), (16, "cuda"), (1, "cpu")])
def test_a_configured_batch_size_wins_over_the_default(configured, device):
    assert batch_size_for(configured, device) == configured


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_unset_gives_the_default_of_the_device(device):
    assert batch_size_for(None, device) == default_batch_size(device)


def test_unset_on_cpu_gives_the_cpu_default():
    assert batch_size_for(None, "cpu") == CPU_BATCH_SIZE


@pytest.mark.parametrize(("gpus", "expected"), [(0, CPU_BATCH_SIZE), (1, CUDA_BATCH_SIZE)])
def test_auto_gets_the_default_of_the_device_the_model_will_use(monkeypatch, gpus, expected):
    # pick_device asks CTranslate2 how many GPUs it sees: patch the module itself (as test_device.py does).
    monkeypatch.setattr("ctranslate2.get_cuda_device_count", lambda: gpus)
    assert batch_size_for(None, "auto") == expected
    assert batch_size_for(2, "auto") == 2


def test_only_long_recordings_are_decoded_in_batches_by_default():
    from workers.pipeline.transcribe import TranscribeOptions, for_length

    options = TranscribeOptions(long_batch_size=4)
    assert for_length(options, 59.9).batch_size == 1, "short clips keep sequential decoding"
    assert for_length(options, 60.0).batch_size == 4
    assert for_length(TranscribeOptions(), 3600).batch_size == 1, "the pipeline's own default stays sequential"
    assert for_length(TranscribeOptions(batch_size=8, long_batch_size=4), 600).batch_size == 8, "an explicit size wins"
    sequential = TranscribeOptions(long_batch_size=4, condition_on_previous_text=True)
    assert for_length(sequential, 600).batch_size == 1


def test_the_configured_long_batch_size_wins_over_the_device_default():
    from workers.runners.configured_models import long_batch_size
    from workers.settings import Settings

    assert long_batch_size(Settings(_env_file=None, asr_long_batch_size=2, asr_device="cpu")) == 2
    assert long_batch_size(Settings(_env_file=None, asr_device="cpu")) == 4
    assert long_batch_size(Settings(_env_file=None, asr_device="cuda")) == 8
