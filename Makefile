# bounceadmin: `make run` starts everything on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-sqlite test-postgres test-deps lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# init_data first: it creates the data folder, the secret key and the broker's folders, which
# every later step and process needs (importing the settings creates nothing).
# Ports: WEB_PORT (default 8000) and SANDBOX_PORT (8025), from the environment or `.env`. honcho
# reads no `.env` of its own (`--env /dev/null`): scripts/with-dotenv hands every process the
# environment plus `.env` as settings.py reads it, the environment first.
run: install
	$(BIN)/python manage.py init_data
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py refresh_on_start
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/with-dotenv \
		honcho --procfile Procfile.dev --env /dev/null start

# `make test` runs the whole suite twice: on the embedded defaults (SQLite, the filesystem broker,
# the file cache) and on PostgreSQL + Redis (the broker and the cache), throwaway servers on free
# loopback ports that scripts/test-services starts for the pass and always stops after it. It
# fails when either pass fails. `make test-sqlite` / `make test-postgres` run one pass;
# PYTEST_ARGS passes options to pytest (e.g. PYTEST_ARGS="-x -k refresh").
#
# The two passes run at the same time: most of a pass is spent waiting (on worker processes, the
# browser, leases running out), so together they take little longer than the slower one alone.
# They share no folder, file or port: pass 1 keeps its database, broker and cache in data/test,
# pass 2 in the throwaway servers and a temporary DATA_DIR; every server, worker and browser
# listens on a port of its own, and each pytest has its own temporary folder and cache folder
# (pass 2's is .pytest_cache_postgres, so `--lf` reruns each pass's own failures). Pass 1 prints
# as it goes; pass 2 writes to a log of its own, printed whole once it ends. An interrupt stops
# both.
PYTEST_ARGS ?=
PYTEST_SQLITE = env -u DATABASE_URL -u CELERY_BROKER_URL -u CACHE_URL $(BIN)/pytest $(PYTEST_ARGS)
PYTEST_POSTGRES = $(BIN)/python scripts/test-services run \
	$(BIN)/pytest -o cache_dir=.pytest_cache_postgres $(PYTEST_ARGS)

test: install test-deps
	$(BIN)/ruff check .
	@status=0; log=$$(mktemp "$${TMPDIR:-/tmp}/bounceadmin-pass2.XXXXXX.log"); \
	$(PYTEST_POSTGRES) > "$$log" 2>&1 & pass2=$$!; \
	trap 'kill -TERM $$pass2 2>/dev/null' INT TERM HUP; \
	echo "== pass 1 of 2: SQLite, filesystem broker, file cache (pass 2 runs meanwhile)"; \
	$(PYTEST_SQLITE) || status=1; \
	echo "== pass 2 of 2: PostgreSQL, Redis broker and cache (its output)"; \
	wait $$pass2 || status=1; \
	cat "$$log"; rm -f "$$log"; \
	exit $$status

test-sqlite: install test-deps
	$(PYTEST_SQLITE)

test-postgres: install test-deps
	$(PYTEST_POSTGRES)

test-deps:
	scripts/ensure-test-deps

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmarks (bench/): refresh against the bare minimum, pages, export, push, latency, every
# other suppression list (refresh, lookup, /suppressions/); on SQLite and on a throwaway
# PostgreSQL + Redis. BENCH_ARGS for a smaller run or one part, e.g.
# BENCH_ARGS="--subusers 10 --per-subuser 2000" or BENCH_ARGS="--only lists".
BENCH_ARGS ?=
bench: install test-deps
	$(BIN)/python scripts/test-services run $(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles data/broker data/test.sqlite3
