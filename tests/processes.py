"""Real server processes for the tests and benchmarks that need them (e2e, live, scaled, fuzz, bench).

One place for what they all do: pick a free port, give a server a fresh PostgreSQL database or Redis
db, run ``manage.py`` commands, start processes in a session of their own (so stopping one ends its
children too, e.g. Celery's pool), wait until a server answers, and stop them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
START_TIMEOUT = 60.0


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def unavailable(reason: str):
    """Skip locally; in CI a skipped browser, PostgreSQL or Redis test is a failure."""
    if in_ci():
        pytest.fail(f"{reason} (a skip is a failure in CI)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_path(url: str, path: str, query: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query if query is None else query, parts.fragment))


def admin_url(database_url: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))


def fresh_postgres(database_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``database_url``; return its URL."""
    import psycopg

    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_path(database_url, f"/{name}")


def drop_postgres(database_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_redis(redis_url: str, db: int) -> str:
    """Flush Redis database ``db`` on the server of ``redis_url``; return its URL."""
    import redis

    url = with_path(redis_url, f"/{db}")
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def run_manage(args: list[str], env: Mapping[str, str], log: Path | None = None, timeout: float = 300) -> str:
    """``manage.py <args>`` in the repository with ``env``; its output, or RuntimeError with it."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=REPO, env=dict(env), capture_output=True, text=True, timeout=timeout
    )
    if log is not None:
        log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def start(cmd: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab", buffering=0)
    # A session of its own, so stop() ends the process together with its children (Celery's pool).
    return subprocess.Popen(
        cmd, cwd=REPO, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def serve_command(port: int) -> list[str]:
    return [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]


def stop(proc: subprocess.Popen, *, term_wait: float = 10) -> None:
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_until_up(
    url: str,
    processes: Mapping[str, subprocess.Popen],
    logs: Mapping[str, Path],
    *,
    path: str = "/healthz/",
    timeout: float = START_TIMEOUT,
) -> None:
    """Until ``url + path`` answers below 500; fail at once if one of ``processes`` exits."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        for name, proc in processes.items():
            if proc.poll() is not None:
                log = logs.get(name)
                raise RuntimeError(
                    f"{name} exited with {proc.returncode} while starting:\n{tail(log, 80) if log else ''}"
                )
        try:
            response = httpx.get(url + path, timeout=2)
            if response.status_code < 500:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer {path} within {timeout:.0f} s ({last_error})")
