# Attention Lens: the Streamlit app and its bundled checkpoints, CPU-only by default.
#
#   docker build -t attention-lens .
#   docker run --rm -p 8501:8501 attention-lens        # then open http://localhost:8501
#
# torch: requirements.txt pins torch==2.13.0, and on PyPI that pin is the CUDA build (several GB
# of CUDA libraries). So torch is installed first from the PyTorch CPU wheel index (2.13.0+cpu,
# which satisfies the pin), then all of requirements.txt from PyPI; keep the two pins equal
# (tests/test_dockerfile.py checks).
#
# CUDA variant (same file, one build argument; the host needs the NVIDIA driver and the NVIDIA
# Container Toolkit). torch's CUDA wheels bring their own CUDA runtime, so the slim base works:
#   docker build --build-arg TORCH_INDEX=https://pypi.org/simple -t attention-lens:cuda .
#   docker run --rm --gpus all -p 8501:8501 attention-lens:cuda
# PyPI's torch 2.13.0 for Linux is built for CUDA 13 (driver 580 or newer); a PyTorch index such
# as https://download.pytorch.org/whl/cu126 gives an older CUDA where that release offers one.
# BASE swaps the base image of both stages, e.g. for an NVIDIA CUDA image that has Python 3.11
# at /usr/local/bin/python and apt (Debian or Ubuntu).

ARG BASE=python:3.11-slim-bookworm
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# Build stage: eflomal (in requirements.txt) has no wheel and compiles C with OpenMP.
# Its aligner binary is built with -march=native: build the image on the kind of CPU it runs on
# if you use `python -m models align` inside it (the app itself never runs the aligner).
FROM ${BASE} AS build
ARG TORCH_INDEX
# Debian package versions are not pinned: the base image tag fixes the Debian release, and its
# security updates replace exact versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --index-url "${TORCH_INDEX}" torch==2.13.0 \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# Runtime stage: Chromium and CJK fonts are for server-side PNG/SVG export (kaleido); libgomp1
# for eflomal. The app runs as an unprivileged user and writes nothing: uploads stay in memory.
FROM ${BASE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-noto-cjk libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 app \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
WORKDIR /app
# Code, .streamlit/config.toml (upload limit) and assets/ (bundled checkpoints, alignments);
# .dockerignore keeps out tests, runs/, caches and git history.
COPY . /app
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.fileWatcherType=none"]
