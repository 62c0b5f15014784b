from __future__ import annotations

import pytest

from tests.fakeprovider import FakeProvider, start_fake_provider


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INSTANT_TASKS = "sync"
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.INSTANT_WORK_RETRY_BASE_SECONDS = 1


@pytest.fixture(autouse=True)
def sandbox_cloud_in_process(monkeypatch):
    """The Sandbox backend and cloud talk HTTP to this server; in tests that lands in this process.

    A plain WSGIHandler closes "old" connections when a request starts and ends, which on a file
    database would close the test's own connection mid-transaction; Django's test client avoids
    it the same way, by keeping that connection open.
    """
    import httpx
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    from apps.providers import sandbox

    monkeypatch.setattr(sandbox, "TRANSPORT", httpx.WSGITransport(app=WSGIHandler()))
    for alias in connections:
        monkeypatch.setattr(connections[alias], "close_if_unusable_or_obsolete", lambda: None)


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """On PostgreSQL, connections closed by threads go back to the pool and stay open: close the
    pool before pytest-django drops the test database, or the drop finds "other users"."""
    yield
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        close_pool = getattr(connection, "close_pool", None)
        if close_pool is not None:
            close_pool()
    # A pool closes only the connections given back to it. A websocket test whose event loop ends
    # while its consumer is still loading the user (channels' AuthMiddleware, in an executor thread)
    # leaves that thread's connection checked out for good: end such stragglers, as they are test
    # threads' and the database is about to be dropped.
    default = connections["default"]
    if default.vendor == "postgresql":
        with django_db_blocker.unblock(), default._nodb_cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [default.settings_dict["NAME"]],
            )


_FAKE: FakeProvider | None = None


@pytest.fixture
def fake_provider() -> FakeProvider:
    """A local fake provider HTTP server; routes and records are reset for every test."""
    global _FAKE
    if _FAKE is None:
        _FAKE = start_fake_provider()
    _FAKE.reset()
    yield _FAKE


@pytest.fixture
def requires_postgres():
    """PostgreSQL-only behaviour (row locks, real concurrency). In CI a skip is a failure."""
    import os

    from django.db import connection

    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("This test must run on PostgreSQL in CI (set DATABASE_URL).")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def held_wakeups(monkeypatch) -> list[list[str]]:
    """The work keys woken after commit, held instead of run inline as tests usually do: the rows wait
    for the test's own ``work.run_due``."""
    from apps.core import work

    held: list[list[str]] = []
    monkeypatch.setitem(work._wakers, "sync", held.append)
    return held


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (tasks, realtime events) as the real commit would."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
