# The two commands a newcomer needs: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
#: The port `make run` serves on: `make run PORT=8080`.
PORT ?= 8000

.PHONY: run test check install services clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Citizenry needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve the demo nation on the embedded SQLite database at http://127.0.0.1:8000
run: $(STAMP)
	CITIZENRY_INSECURE_HTTP=1 CITIZENRY_DEFAULT_NATION=demo $(BIN)/citizenry demo run --port $(PORT)

## Start the services the tests need (PostgreSQL and Redis), then lint, type-check and test
test: $(STAMP) services check

services:
	bash scripts/ensure-services

check: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
