# Instant: `make run` serves the app with its embedded worker; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

LOCK := requirements.lock

.PHONY: run test serve migrate demo worker beat bench clean lock

# Installs exactly what requirements.lock pins (every dependency, transitive ones included), then the
# project itself without letting pip pick versions. `make lock` refreshes the pins within
# pyproject.toml's ranges.
$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "pip-tools>=7.4,<8"
	$(VENV)/bin/pip-compile --quiet --upgrade --extra test --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --output-file $(LOCK) pyproject.toml

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo

run: demo
	$(PY) manage.py serve --port $(PORT) --banner

# Connections are not kept between requests in tests, so nothing holds the test database at teardown.
test: $(VENV)/.installed
	DB_CONN_MAX_AGE=0 $(PY) -m pytest

# Production-style processes (with DATABASE_URL and REDIS_URL set); see README "Scaling out".
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A instant worker --loglevel=INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A instant beat --loglevel=INFO

# Benchmarks of the scaled mode, each on a throw-away PostgreSQL database and a Redis db of its own
# (see their docstrings): ingest (db 14), webhook → offer latency (db 10), sockets and fan-out (db 11).
# BENCH_SERVER=daphne measures Daphne instead of uvicorn (the README's scaled set-up).
# All run; make fails at the end if one of them did.
BENCH_SERVER ?= uvicorn
bench: $(VENV)/.installed
	rc=0; \
	$(PY) bench/load_webhooks.py --server $(BENCH_SERVER) || rc=1; \
	$(PY) bench/offer_latency.py --server $(BENCH_SERVER) || rc=1; \
	$(PY) bench/sockets.py --server $(BENCH_SERVER) || rc=1; \
	$(PY) bench/campaigns.py --mode scaled || rc=1; \
	exit $$rc

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media staticfiles
