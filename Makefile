# Instant: `make run` serves the app with its embedded worker; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test serve migrate demo worker beat clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

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

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media staticfiles
