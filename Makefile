# The whole setup on a fresh machine with Python 3.11 and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WRK := /usr/bin/wrk
CHROMEDRIVER := /usr/bin/chromedriver
REDIS_SERVER := /usr/bin/redis-server
POSTGRESQL := /usr/bin/pg_ctlcluster
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

.PHONY: run test lint check bench bench-full screenshots clean

# The service on http://127.0.0.1:8000 with the bundled scenarios in workspace 'local'; prints a fresh token.
# `make run PORT=8080` serves on another port. Only the command line sets it: a PORT in the environment
# (which some hosts set for their own purposes) does not move the service.
PORT = 8000
run: $(VENV)/.installed
	$(BIN)/planner check scenarios/*.yaml
	$(BIN)/planner serve --load scenarios/*.yaml --port $(PORT)

# Tests use real components, installed here when missing (as root): Debian's chromium and chromium-driver for the
# web page, redis-server and postgresql for the queue and the store (the tests start and stop their own servers).
test: lint $(CHROMEDRIVER) $(REDIS_SERVER) $(POSTGRESQL)
	$(BIN)/python -m pytest

# Code health: ruff's lint and formatting check, and mypy (all configured in pyproject.toml).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check: run

# Benchmarks write docs/benchmarks.md (and its plot); they read ../shared/bench-data (BENCH_DATA overrides).
# The service's figures need wrk, Debian's HTTP load generator: installed here when missing (as root).
bench: $(VENV)/.installed-bench $(WRK)
	$(BIN)/python -m bench.run

bench-full: $(VENV)/.installed-bench $(WRK)
	$(BIN)/python -m bench.run --full

$(WRK):
	$(APT_GET) wrk || (apt-get update && $(APT_GET) wrk)

$(CHROMEDRIVER):
	$(APT_GET) chromium chromium-driver || (apt-get update && $(APT_GET) chromium chromium-driver)

$(REDIS_SERVER):
	$(APT_GET) redis-server || (apt-get update && $(APT_GET) redis-server)

$(POSTGRESQL):
	$(APT_GET) postgresql || (apt-get update && $(APT_GET) postgresql)

# Screenshots of the web page's main views (docs/screenshots/), taken in the same headless chromium as the tests.
screenshots: $(VENV)/.installed-dev $(CHROMEDRIVER)
	$(BIN)/python -m tests.screenshots

# The stamps depend on pyproject.toml, so editing dependencies reinstalls on the next run.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
