"""The batch size a recording is decoded with when the operator has not chosen one.

batch_size 1 decodes Whisper's 30 s windows one after another (WhisperModel.transcribe, with
temperature fallback); more decodes that many VAD speech chunks at once through faster-whisper's
BatchedInferencePipeline (transcribe.py, TranscribeOptions.batch_size).
"""

from __future__ import annotations

# GPU: batched by design. faster-whisper's own benchmark (README, "Large-v2 model on GPU", 13
# minutes of audio, RTX 3070 Ti, fp16, beam 5): 1m03s sequential, 17s with batch_size=8, for
# 4525 -> 6090 MB of GPU memory; 8 fits beside KB-Whisper Large in float16 on a 8 GB card.
# bench/gpu/run.py measures it on the operator's GPU.
CUDA_BATCH_SIZE = 8

# CPU: batched too, 4 at a time. Measured by bench/long_batched/run.py (docs/benchmarks.md,
# "Long recordings, batched decoding"; docs/long_batched.json) on a 10-minute recording of real
# and synthetic Swedish speech, whisper-base-offline int8, 2 threads, 2-core AMD EPYC shared
# with other work, two runs: transcription 307 s / 491 s sequential, 66 s / 160 s at 4, 73 s /
# 84 s at 8; CPU 242 s / 204 s sequential, 68 s / 65 s at 4, 75 s / 70 s at 8 (sequential
# decoding spends most of its time retrying windows at higher temperatures). 8 is no faster
# than 4 on two cores and peaks 600 MiB higher (1623 vs 1032 MiB; sequential 901). WER on the
# real speech (144 words): 30.6 % at 4 and 8 in both runs, sequential 22.2 % and 33.3 % (it
# samples at its fallback temperatures, so it differs from run to run).
CPU_BATCH_SIZE = 4


def default_batch_size(device: str) -> int:
    """Batch size for `device` as resolved for the loaded model ("cuda" or "cpu", e.g.
    LoadedModel.info.device), used when SWESCRIBE_ASR_BATCH_SIZE is not set."""
    if device == "cuda":
        return CUDA_BATCH_SIZE
    if device == "cpu":
        return CPU_BATCH_SIZE
    raise ValueError(f"unknown device {device!r}: expected 'cuda' or 'cpu' (resolve 'auto' first)")


def batch_size_for(configured: int | None, device: str) -> int:
    """The operator's batch size when set, else the default for `device`. "auto" is resolved
    as the model loader resolves it (asr_model.pick_device: CUDA when CTranslate2 sees a GPU),
    so a setting of "auto" gets the batch size of the device the model will run on."""
    if configured is not None:
        return configured
    if device == "auto":
        from workers.pipeline.asr_model import DeviceOptions, pick_device

        device = pick_device(DeviceOptions(device="auto"))[0]
    return default_batch_size(device)
