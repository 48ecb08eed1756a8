# consentry: two commands do all the set-up.
#   make serve   creates .venv, applies migrations to ./var/consentry.db, creates the demo tenant
#                (printing its API key once) and serves the API on http://127.0.0.1:8000
#   make test    creates .venv and runs ruff, mypy and the whole test suite
# CONSENTRY_TEST_POSTGRES_URL=postgresql://user:pass@host/db makes the suite run on PostgreSQL too.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/consentry init --demo
	$(BIN)/consentry serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_classify.py
	$(BIN)/python bench/bench_optout_check.py
	$(BIN)/python bench/bench_consent_events.py
	$(BIN)/python bench/bench_send_gate.py
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
