"""What the in-process benchmarks share (bench/webhooks.py, contacts_list.py, list_queries.py and
campaigns.py's embedded mode): Django set up in this process on a throw-away database, work inline.

A temporary SQLite file by default; with a PostgreSQL DATABASE_URL, a fresh test database made by
Django's test-database machinery (dropped and created again on every run).
"""
from __future__ import annotations

import os
import tempfile


def setup_throwaway_database(*, test_client: bool = False) -> None:
    """``test_client``: also set up what Django's test clients need (any host, the test environment)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")
    os.environ["INSTANT_TASKS"] = "sync"
    os.environ.setdefault("SQLITE_PATH", os.path.join(tempfile.mkdtemp(), "bench.sqlite3"))
    import django

    django.setup()
    if test_client:
        from django.conf import settings
        from django.test.utils import setup_test_environment

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["*"]
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
