# The contract's commands: install, run, test, bench, lint.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint format migration migration-squash clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Serve on the embedded SQLite default with the demo data (loaded once).
run: install
	$(PY) -m bot serve --seed-demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: install
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

lint: install
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Autogenerate the next Alembic revision from the models: make migration m="what changed"
migration: install
	$(PY) -m models.migrate_tool "$(m)"

clean:
	rm -rf $(VENV) var .pytest_cache

# Before the first production release only: regenerate the history as one initial revision.
migration-squash: install
	$(PY) -m models.migrate_tool --squash
