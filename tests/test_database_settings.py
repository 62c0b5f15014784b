"""The embedded default holds under concurrency however SQLite is configured (issue 7, deliverable 2),
and PostgreSQL connections are pooled per process under ASGI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
db = settings.DATABASES["default"]
out = {"engine": db["ENGINE"], "options": {k: v for k, v in db.get("OPTIONS", {}).items() if k != "pool"},
       "pool": db.get("OPTIONS", {}).get("pool"), "conn_max_age": db.get("CONN_MAX_AGE")}
if db["ENGINE"].endswith("sqlite3"):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        out["journal_mode"] = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        out["busy_timeout"] = cursor.fetchone()[0]
print(json.dumps(out))
"""


def _probe(tmp_path, **env) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
    base["DJANGO_SETTINGS_MODULE"] = "instant.settings"
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("how", ["default file", "DATABASE_URL"])
def test_sqlite_runs_in_wal_with_immediate_transactions_and_a_busy_timeout(tmp_path, how):
    path = tmp_path / "instant.sqlite3"
    env = {"SQLITE_PATH": str(path)} if how == "default file" else {"DATABASE_URL": f"sqlite:///{path}"}
    seen = _probe(tmp_path, **env)
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["options"]["transaction_mode"] == "IMMEDIATE"
    assert seen["options"]["timeout"] >= 5
    assert seen["journal_mode"] == "wal"
    assert seen["busy_timeout"] >= 5000
    assert seen["conn_max_age"] == 0


def test_postgresql_connections_come_from_a_bounded_pool_per_process(tmp_path):
    seen = _probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/instant_probe_unused", DB_POOL_MAX_SIZE="7")
    assert seen["engine"] == "django.db.backends.postgresql"
    assert seen["pool"]["max_size"] == 7
    # Django's pool needs persistent connections off: every request borrows and gives back.
    assert seen["conn_max_age"] == 0
