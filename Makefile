# Tongban — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
JS_STAMP := node_modules/.installed

.PHONY: run test setup lint check bench clean

run: setup ## venv, dependencies, assets, migrations, demo data, server on http://127.0.0.1:8000
	$(BIN)/tongban db upgrade
	$(BIN)/tongban demo load
	$(BIN)/tongban serve

test: setup ## the whole test suite on every core (PostgreSQL and browser tests skip when unavailable)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: setup ## ruff and mypy on src/
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

check: lint test

setup: $(PY_STAMP) $(JS_STAMP)

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(JS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bench: setup ## the SQLite runs of the benchmarks in bench/ (figures and the PostgreSQL commands: bench/README.md)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/assessment/bench_scoring.py
	$(BIN)/python bench/reviews/bench_import.py --rows 100000
	$(BIN)/python bench/reviews/bench_api.py --requests 1500 --interval 1.0

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
