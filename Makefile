# bcsite: `make run` starts the site with demo data, `make test` runs the whole suite.
# Both set up what they need first (a virtualenv in .venv, the project and its tools).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k tellme -x"`.
PYTEST_ARGS ?=

.PHONY: help install run test pytest lint fmt chromium redis-check bench chaos

help:
	@echo "make run    set up and start bcsite on http://$(HOST):$(PORT) (web, Celery worker, beat)"
	@echo "make test   lint and run the whole test suite"
	@echo "make bench  pages at 100k rows, engine throughput and latency on SQLite and PostgreSQL (docs/performance.md)"
	@echo "make chaos  1,000 flow runs while workers are killed and Redis restarts; checks nothing ran twice"
	@echo "make lint   ruff check and format check"
	@echo "make fmt    ruff fix and format"

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 was not found)." >&2; exit 1; }
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
		echo "Python's venv module is missing; on Debian: apt-get install python3-venv" >&2; exit 1; }
	@# A half-made virtualenv would make every later run skip this step: remove it on failure.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --quiet --upgrade pip || { rm -rf $(VENV); exit 1; }

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

# The browser tests drive Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian's chromium for the browser tests..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need /usr/bin/chromium and will be skipped without it." >&2; \
			echo "Install it with: sudo apt-get install -y chromium" >&2; \
		fi; \
	fi

redis-check: install
	@$(PY) -c "import os, redis; redis.Redis.from_url(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0'), socket_connect_timeout=2).ping()" 2>/dev/null || { \
		echo "" >&2; \
		echo "Redis is not reachable at $${REDIS_URL:-redis://127.0.0.1:6379/0}." >&2; \
		echo "bcsite runs its flows and approvals on Celery, which needs Redis. Start it, e.g.:" >&2; \
		echo "    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no" >&2; \
		echo "or set REDIS_URL to a Redis server, then run 'make run' again." >&2; \
		exit 1; }

# Mail from flows goes to files in var/mail when run locally, unless EMAIL_BACKEND says otherwise.
run: export EMAIL_BACKEND ?= django.core.mail.backends.filebased.EmailBackend
run: install redis-check
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  bcsite is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo users (password: demo): admin, sales, approver"
	@echo "  Mail that flows send is written to var/mail/ (set EMAIL_BACKEND to send it)."
	@echo "  Stop with Ctrl+C."
	@echo ""
	@trap 'kill $$worker $$beat 2>/dev/null; wait $$worker $$beat 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(PY) -m celery --quiet -A bcsite worker --loglevel INFO & worker=$$!; \
	$(PY) -m celery --quiet -A bcsite beat --loglevel INFO & beat=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

pytest: install chromium
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint pytest

# Benchmarks run on a database of their own, so the volume they load never mixes with
# the demo database of `make run`. SQLite under var/ unless BENCH_DATABASE_URL is set. The
# engine is measured on PostgreSQL too when BENCH_POSTGRES_URL is reachable (the database
# is created if missing); otherwise that part is skipped with a message.
BENCH_DATABASE_URL ?= sqlite:///$(CURDIR)/var/bench.sqlite3
BENCH_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/bcsite_bench
CHAOS_DATABASE_URL ?= sqlite:///$(CURDIR)/var/chaos.sqlite3
# Extra arguments for the chaos command, e.g. `make chaos CHAOS_ARGS="--runs 200 --seed 7"`.
CHAOS_ARGS ?=

bench: install redis-check
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput --verbosity 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_pages
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_flow_pages
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_triggers
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py bench_engine
	@if $(PY) -c "import sys; from bcsite.bench import postgres_ready; sys.exit(not postgres_ready('$(BENCH_POSTGRES_URL)'))"; then \
		set -e; export DATABASE_URL=$(BENCH_POSTGRES_URL); \
		$(PY) manage.py migrate --noinput --verbosity 0; \
		$(PY) manage.py bench_triggers; \
		$(PY) manage.py bench_engine; \
	else \
		echo "PostgreSQL is not reachable at $(BENCH_POSTGRES_URL): the engine is measured on SQLite only."; \
	fi
	$(PY) manage.py bench_report

chaos: install redis-check
	DATABASE_URL=$(CHAOS_DATABASE_URL) $(PY) manage.py migrate --noinput --verbosity 0
	DATABASE_URL=$(CHAOS_DATABASE_URL) $(PY) manage.py chaos $(CHAOS_ARGS)
