"""Scaled-mode harness: Daphne (``manage.py serve``) and a Celery worker with beat, on PostgreSQL and Redis.

The processes run exactly as the README's "Scaling out" starts them, against a database of their
own (``instant_scaled``, dropped and created for every run) and Redis database 13 (flushed first).
The tests talk to them over HTTP and websockets only, never through pytest-django's ``db``.

Without a PostgreSQL DATABASE_URL and a REDIS_URL the tests skip; in CI (``CI`` set) that is a failure.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from .live import ScaledApp

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
SCALED_DB_NAME = "instant_scaled"
SCALED_REDIS_DB = 13
START_TIMEOUT = 60.0
HERE = Path(__file__).resolve().parent

_LOGS: dict[str, Path] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and HERE in Path(str(item.path)).resolve().parents:
        for name, path in _LOGS.items():
            report.sections.append((f"{name} log (last 100 lines)", _tail(path, 100)))


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (a skip is a failure in CI)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _fresh_postgres(database_url: str) -> str:
    import psycopg

    parts = urlsplit(database_url)
    admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SCALED_DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SCALED_DB_NAME}"')
    return _with_path(database_url, f"/{SCALED_DB_NAME}")


def _fresh_redis(redis_url: str) -> str:
    import redis

    url = _with_path(redis_url, f"/{SCALED_REDIS_DB}")
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def _start(name: str, cmd: list[str], env: dict[str, str], tmp: Path) -> subprocess.Popen:
    log_path = tmp / f"{name}.log"
    _LOGS[name] = log_path
    log = open(log_path, "ab", buffering=0)
    # A session of its own, so teardown ends the process together with its children (Celery's pool).
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def _prepare(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def _wait_until_up(app: ScaledApp) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        for name, proc in app.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} while starting:\n{_tail(_LOGS[name], 60)}")
        try:
            response = httpx.get(app.url + "/healthz/", timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer /healthz/ within {START_TIMEOUT:.0f} s ({last})")


# Package scope: the servers stop once these tests are done, not at the end of the whole suite.
@pytest.fixture(scope="package")
def scaled_app(tmp_path_factory) -> ScaledApp:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        _unavailable("the scaled mode needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")

    from django.conf import settings

    tmp = tmp_path_factory.mktemp("scaled")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE", "PORT"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "DATABASE_URL": _fresh_postgres(database_url),
            "REDIS_URL": _fresh_redis(redis_url),
            # The tests sign Sandbox webhooks with this process's settings: the server must agree.
            "SECRET_KEY": settings.SECRET_KEY,
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "MEDIA_ROOT": str(tmp / "media"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    _prepare(["migrate", "--noinput"], env)
    _prepare(["demo"], env)

    app = ScaledApp(url=url, port=port, env=env)
    try:
        app.processes["server"] = _start(
            "server", [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp
        )
        app.processes["celery"] = _start(
            "celery",
            [
                CELERY, "-A", "instant", "worker", "-B", "--pool=threads", "--concurrency=4", "-l", "INFO",
                "-s", str(tmp / "celerybeat-schedule"), "-n", f"scaled-{port}@%h",
            ],
            env,
            tmp,
        )
        _wait_until_up(app)
        yield app
    finally:
        for proc in reversed(list(app.processes.values())):
            _stop(proc)
        _LOGS.clear()


