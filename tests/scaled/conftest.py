"""Scaled-mode harness: uvicorn (``manage.py serve --server uvicorn``) and a Celery worker with beat, on
PostgreSQL and Redis, with the pub/sub channel layer (the default with REDIS_URL).

The processes run exactly as the README's "Scaling out" starts them, against a database of their
own (``instant_scaled``, dropped and created for every run) and Redis database 13 (flushed first).
The tests talk to them over HTTP and websockets only, never through pytest-django's ``db``.

Without a PostgreSQL DATABASE_URL and a REDIS_URL the tests skip; in CI (``CI`` set) that is a failure.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import processes

from .live import ScaledApp

SCALED_DB_NAME = "instant_scaled"
SCALED_REDIS_DB = 13
SCALED_SERVER = "uvicorn"  # the README's scaled set-up; Daphne serves `make run` and tests/live
HERE = Path(__file__).resolve().parent

_LOGS: dict[str, Path] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and HERE in Path(str(item.path)).resolve().parents:
        for name, path in _LOGS.items():
            report.sections.append((f"{name} log (last 100 lines)", processes.tail(path, 100)))


def _start_worker(app: ScaledApp, tmp) -> None:
    """(Re)start the Celery worker with beat embedded, as `make worker` would on one box."""
    app.worker_starts += 1
    name = "celery" if app.worker_starts == 1 else f"celery-{app.worker_starts}"
    _LOGS[name] = tmp / f"{name}.log"
    app.processes["celery"] = processes.start(
        [
            processes.CELERY, "-A", "instant", "worker", "-B", "--pool=threads", "--concurrency=4", "-l", "INFO",
            "-s", str(tmp / "celerybeat-schedule"), "-n", f"scaled-{app.port}-{app.worker_starts}@%h",
        ],
        app.env,
        _LOGS[name],
    )


# Package scope: the servers stop once these tests are done, not at the end of the whole suite.
@pytest.fixture(scope="package")
def scaled_app(tmp_path_factory) -> ScaledApp:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        processes.unavailable("the scaled mode needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")

    from django.conf import settings

    tmp = tmp_path_factory.mktemp("scaled")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE", "PORT"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "DATABASE_URL": processes.fresh_postgres(database_url, SCALED_DB_NAME),
            "REDIS_URL": processes.fresh_redis(redis_url, SCALED_REDIS_DB),
            # The tests sign Sandbox webhooks with this process's settings: the server must agree.
            "SECRET_KEY": settings.SECRET_KEY,
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "MEDIA_ROOT": str(tmp / "media"),
            "PYTHONUNBUFFERED": "1",
            # A killed worker's claimed jobs come back after this lease: short, so a test can see it.
            "INSTANT_WORK_LEASE_SECONDS": "5",
            "INSTANT_CAMPAIGN_LEASE_SECONDS": "3",
        }
    )
    processes.run_manage(["migrate", "--noinput"], env)
    processes.run_manage(["demo"], env)

    app = ScaledApp(url=url, port=port, env=env)
    try:
        _LOGS["server"] = tmp / "server.log"
        app.processes["server"] = processes.start(
            [*processes.serve_command(port), "--server", SCALED_SERVER], env, _LOGS["server"]
        )
        app.start_worker = lambda: _start_worker(app, tmp)
        app.start_worker()
        processes.wait_until_up(app.url, app.processes, _LOGS)
        yield app
    finally:
        for proc in reversed(list(app.processes.values())):
            processes.stop(proc)
        _LOGS.clear()


