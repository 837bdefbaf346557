# hullcheck — developer entry points. `make demo` and `make test` work on a fresh Debian 12.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup system venv demo test lint bench clean

system:  ## Debian packages the tests and the demo need (run as root)
	./scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

setup: system venv

demo: setup  ## Build a test image in a private engine, print its SBOM and its vulnerabilities
	$(PY) -m tests.infra.demo

test: setup  ## The whole suite, with a private Docker Engine
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: setup  ## SBOM side by side with Syft, the vulnerability database, fleet sync and queries, audit, review
	$(PY) -m bench.sbom
	$(PY) -m bench.vuln
	$(PY) -m bench.fleet
	$(PY) -m bench.fleet_queries
	$(PY) -m bench.scale
	$(PY) -m bench.render
	$(PY) -m bench.audit
	$(PY) -m bench.review

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
