.PHONY: demo test setup setup-test lint bench audit

VENV := .venv
BIN := $(VENV)/bin

demo: setup
	$(BIN)/finpulse demo

test: setup-test
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy foundation monitor/core
	$(BIN)/python -m pytest -q -ra
	@scripts/audit.sh

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

lint:
	$(BIN)/python -m ruff check . && $(BIN)/python -m ruff format --check . && $(BIN)/python -m mypy foundation monitor/core

bench:
	$(BIN)/python bench/model.py && $(BIN)/python bench/ingest.py && $(BIN)/python bench/aggregate.py && $(BIN)/python bench/dashboard.py

audit:
	@scripts/audit.sh
