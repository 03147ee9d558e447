# The two commands a newcomer needs: `make run` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INTEROP_STAMP := $(VENV)/.interop-installed
NODE_DIR := tests/interop/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
#: The port `make run` serves on: `make run PORT=8080`.
PORT ?= 8000
#: The port of the sample app that `make run` starts beside the server; empty means PORT + 1, 0 none.
SAMPLE_PORT ?=

.PHONY: run test check install interop services clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Citizenry needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The third-party clients that tests/interop runs: the `interop` extra's Python packages and the npm
# packages of tests/interop/node. `make run` needs neither. Outside CI a missing npm only skips the
# Node.js tests; under CI=true it is an error.
$(INTEROP_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,interop]'
	$(BIN)/python -m pip check
	touch $(INTEROP_STAMP)

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm ci --prefix $(NODE_DIR)"; \
		npm ci --prefix $(NODE_DIR) --no-audit --no-fund && touch $(NODE_STAMP); \
	elif [ "$$CI" = true ]; then \
		echo "npm is not installed: under CI=true the Node.js interop tests must run" >&2; exit 1; \
	else \
		echo "npm is not installed: the Node.js interop tests will be skipped"; \
	fi

interop: $(INTEROP_STAMP) $(NODE_STAMP)

## Serve the demo nation on the embedded SQLite database at http://127.0.0.1:8000, and the sample
## app (examples/sample_app) at http://127.0.0.1:8001
run: $(STAMP)
	CITIZENRY_INSECURE_HTTP=1 CITIZENRY_DEFAULT_NATION=demo $(BIN)/citizenry demo run --port $(PORT) \
		$(if $(SAMPLE_PORT),--sample-port $(SAMPLE_PORT))

## Start the services the tests need (PostgreSQL and Redis), then lint, type-check and test
test: $(STAMP) services check

services:
	bash scripts/ensure-services

check: $(STAMP) interop
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy
	$(BIN)/mypy examples/sample_app
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
