# syntax=docker/dockerfile:1
# The GPU worker: transcription with CTranslate2 (faster-whisper) and diarization (pyannote):
# the worker and diarization extras. Not the llm extra: summaries run on the CPU worker (API
# image), which asks an OpenAI-compatible endpoint.
# CTranslate2 4.x is built against CUDA 12 and cuDNN 9, which this base image provides; the
# host needs an NVIDIA driver for CUDA 12.4 or newer and the NVIDIA Container Toolkit.
# Build from the repository root: docker build -f docker/worker.Dockerfile .
ARG CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
FROM ${CUDA_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    SWESCRIBE_DATA_DIR=/data \
    SWESCRIBE_MODEL_CACHE_DIR=/models \
    HF_HOME=/models/hf

# Ubuntu 22.04 ships Python 3.10; swescribe needs 3.11, a maintained build of which comes from
# the deadsnakes archive. The tools that add the archive are removed again afterwards.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gnupg software-properties-common \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
 && apt-get purge -y --auto-remove software-properties-common gnupg \
 && rm -rf /var/lib/apt/lists/*

# A fixed uid, so operators can chown a host models folder to it. /models exists in the image
# owned by that user, so a fresh named volume mounted there is writable too.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/swescribe swescribe \
 && mkdir -p /data /models/hf \
 && chown -R swescribe:swescribe /data /models

# The source is bind-mounted for the install only (read-write so the build's scratch files
# are discarded): no copy of the tree stays in a layer.
RUN --mount=type=bind,target=/src,rw \
    python3.11 -m venv /opt/venv \
 && pip install --upgrade pip \
 && pip install '/src[worker,diarization]'

USER swescribe
WORKDIR /home/swescribe
CMD ["swescribe", "worker", "--queues", "gpu"]
