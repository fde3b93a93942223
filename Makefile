# The contract's commands: install, run, test, bench, lint.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint format migration migration-squash clean lock deploy-check doctor

# The project's own modules compiled to bytecode here, because nothing else writes it:
# the services run as a user that cannot write the checkout, and PYTHONDONTWRITEBYTECODE
# (set on many machines and in the image) stops Python writing it too, so every start
# compiled them again, about 0.35 s of a warm start (issue 17). Cheap when up to date.
install: $(STAMP)
	@$(PY) -m compileall -q bot handlers nlu models

# The pinned versions of requirements-dev.lock first (reproducible installs), then the
# project itself; if the lock is missing, stale or does not install here, the
# lower bounds of pyproject.toml decide and a note says so.
$(STAMP): pyproject.toml $(wildcard requirements-dev.lock)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@$(PY) deploy/lockfile.py check || true
	@if [ -f requirements-dev.lock ]; then \
		$(PY) -m pip install -q -r requirements-dev.lock \
		|| echo "note: requirements-dev.lock did not install here; using pyproject.toml's lower bounds"; \
	fi
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Re-pin every dependency (after adding one to pyproject.toml): one command, then commit requirements.lock.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile -q --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements-dev.lock pyproject.toml
	$(PY) deploy/lockfile.py stamp
	@echo "requirements.lock (runtime, the Docker image) and requirements-dev.lock (make install) updated"

# Serve on the embedded SQLite default with the demo data (loaded once); prints,
# when ready, the URL, a console token and demo trainees with bind codes.
run: install
	$(PY) -m bot serve --seed-demo

# Check settings, database, Redis, channel credentials, calendar and file permissions.
doctor: install
	$(PY) -m bot doctor

# nginx (Debian's package, installed if absent) in front of two serve processes on the
# local PostgreSQL, driving chat, a WeChat callback and a broadcast through it.
deploy-check: install
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null))
	$(PY) deploy/check.py

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
