# Every target installs what it needs: a fresh clone needs only `make serve` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv cannot download a Python here, so it is pointed at a local 3.12 (pyenv's, where present).
PYTHON_FOR_UV := $(or $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null),$(shell command -v python3.12 2>/dev/null),$(shell command -v python3))
export UV_PYTHON ?= $(PYTHON_FOR_UV)
export UV_NO_PROGRESS := 1
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv/bin

.PHONY: help serve test lint typecheck pytest bench

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

serve: .venv/.synced  ## Serve the whole API on http://127.0.0.1:$${PORT:-4200}/api
	$(VENV)/python -m local.serve

test: lint typecheck pytest  ## Run every check and test

lint: .venv/.synced
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: .venv/.synced
	$(VENV)/mypy

pytest: .venv/.synced
	$(VENV)/pytest

bench: .venv/.synced node_modules/.package-lock.json  ## Print cold, warm and DynamoDB figures (about 4 min)
	UV=$(UV) $(VENV)/python -m benchmarks
