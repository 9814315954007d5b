# syntax=docker/dockerfile:1
# The HTTP API; compose.yaml also runs the migrations and the CPU worker (summaries, webhooks)
# from this image. The base install, no extra: no CUDA, no torch, no model weights and no
# llama.cpp (the CPU worker asks an OpenAI-compatible endpoint for summaries).
# Build from the repository root: docker build -f docker/api.Dockerfile .
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    SWESCRIBE_DATA_DIR=/data

# A fixed uid, so operators can chown bind-mounted folders to it.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/swescribe swescribe \
 && mkdir -p /data \
 && chown swescribe:swescribe /data

# The source is bind-mounted for the install only (read-write so the build's scratch files
# are discarded): no copy of the tree stays in a layer.
RUN --mount=type=bind,target=/src,rw \
    python -m venv /opt/venv \
 && pip install --upgrade pip \
 && pip install /src

USER swescribe
WORKDIR /home/swescribe
EXPOSE 8000
CMD ["swescribe", "api", "--host", "0.0.0.0", "--port", "8000"]
