# The two commands a newcomer needs (see README): `make demo` and `make test`. Each installs what it needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
KUBEAI := $(VENV)/bin/kubeai
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup prepare demo test lint unit integration bench

setup:
	@bash scripts/setup.sh

prepare: setup
	@$(KUBEAI) prepare

# The main job on the embedded defaults.
demo: prepare
	@$(KUBEAI) demo

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

unit: setup
	$(PY) -m pytest tests -m "not integration" -q

integration: prepare
	$(PY) -m pytest tests -m integration -q

# Everything CI runs: lint, type checks, unit tests, integration tests against a real vLLM server.
test: prepare
	@$(MAKE) --no-print-directory lint
	@bash scripts/pytest.sh tests

bench: prepare
	$(PY) benchmarks/serving_bench.py
	$(PY) benchmarks/planner.py
