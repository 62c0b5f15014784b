"""Live harness: real ``manage.py serve`` processes on SQLite, killed and restarted at will (issue 7, X3).

Each server runs on a fresh copy of one SQLite file seeded once per session with ``manage.py migrate``
and ``manage.py demo`` (seeding takes far longer than copying). The server is the embedded default:
no DATABASE_URL and no REDIS_URL even when CI sets them, so deferred work runs on the in-process
worker exactly as under ``make run``.

Tests talk to the server over HTTP only. They may read the SQLite file directly (WAL readers never
block the server's writer) to check what was on disk at the moment of a ``kill -9``, and may write to
it only while the server is down (to point the Sandbox account at a fake provider).

These tests must never use pytest-django's ``db`` fixture.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from tests import processes
from tests.fakeprovider import FakeProvider, start_fake_provider

START_TIMEOUT = 60.0
# What the parent environment may set that would move the server off the embedded SQLite default
# (CI sets DATABASE_URL and REDIS_URL) or change the knobs these tests set themselves.
_STRIPPED_PREFIXES = ("DATABASE_URL", "REDIS_URL", "SQLITE_", "INSTANT_", "DB_", "CELERY_")
_STRIPPED = {"DJANGO_SETTINGS_MODULE", "PORT", "PUBLIC_BASE_URL", "MEDIA_ROOT", "STATIC_ROOT", "SECRET_KEY"}

# Every server alive, so a failing test's report carries their logs (see conftest.py).
SERVERS: list[LiveServer] = []


def child_env() -> dict[str, str]:
    from django.conf import settings

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _STRIPPED and not k.startswith(_STRIPPED_PREFIXES)
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            # The test process signs Sandbox webhooks with its own SECRET_KEY: the server must share it.
            "SECRET_KEY": settings.SECRET_KEY,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
    )
    return env


# ----- one live server ----------------------------------------------------------------------------
@dataclass
class LiveServer:
    name: str
    tmp: Path
    db_path: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    starts: int = 0
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.tmp / f"{self.name}.log"

    # --- process control ---
    def start(self) -> LiveServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "ab", buffering=0) as log:
            log.write(f"\n===== start #{self.starts} at {datetime.now().isoformat()} =====\n".encode())
        # A session of its own: kill() and stop() signal exactly this process group.
        self.proc = processes.start(processes.serve_command(self.port), self.env, self.log_path)
        processes.wait_until_up(self.url, {self.name: self.proc}, {self.name: self.log_path}, timeout=START_TIMEOUT)
        return self

    def kill(self) -> None:
        """``kill -9``: no signal handler, no atexit, no flush of anything not yet committed."""
        self.close_clients()
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """End the server after a test; nothing it holds matters any more, so no graceful shutdown."""
        self.kill()

    # --- logs ---
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_mark(self) -> int:
        """Where the log ends now, for ``log_since``."""
        return len(self.log_text())

    def log_since(self, mark: int) -> str:
        return self.log_text()[mark:]

    def assert_log_clean(self) -> None:
        """No request or job ever met a locked database, and no request ended in a server error."""
        text = self.log_text()
        assert "database is locked" not in text, self.log_tail(80)
        # Django logs a 5xx it answered as "ERROR django.request: Internal Server Error: <path>"; the fake
        # provider's own 500s show up in httpx's lines and are not ours.
        assert "django.request: Internal Server Error" not in text, self.log_tail(80)

    # --- the database file ---
    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read (or, with the server down, write) the server's SQLite file."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            with conn:
                return conn.execute(query, params).fetchall()
        finally:
            conn.close()

    def point_account_at(self, base_url: str) -> None:
        """The Sandbox backend then sends to ``{base_url}/v1/messages`` and fetches media there."""
        assert self.proc is None or self.proc.poll() is not None, "change the account only while the server is down"
        self.sql("UPDATE accounts_whatsappaccount SET api_base_url = ? WHERE name = 'Demo WhatsApp'", (base_url,))

    @cached_property
    def webhook_path(self) -> str:
        (token,) = self.sql("SELECT webhook_token FROM accounts_whatsappaccount WHERE name = 'Demo WhatsApp'")[0]
        return f"/webhooks/{token}/"

    # --- HTTP ---
    def post_webhook(self, payload: dict, *, timeout: float = 30) -> httpx.Response:
        """Post a Sandbox webhook signed as the simulator signs it."""
        from apps.providers.sandbox import SIGNATURE_HEADER, sign

        body = json.dumps(payload).encode()
        url = self.url + self.webhook_path
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(url, body)}
        return httpx.post(url, content=body, headers=headers, timeout=timeout)

    def token(self, username: str, password: str | None = None) -> str:
        response = httpx.post(
            self.url + "/api/v1/auth/token/", json={"username": username, "password": password or username}, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def api(self, username: str, password: str | None = None) -> httpx.Client:
        """A REST client with a token for ``username`` (demo passwords equal the usernames)."""
        client = httpx.Client(base_url=self.url + "/api/v1", timeout=30)
        client.headers["Authorization"] = f"Token {self.token(username, password)}"
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def seed_sqlite(tmp: Path) -> Path:
    """A SQLite file after ``manage.py migrate`` and ``manage.py demo``, to be copied, never served.

    Both commands run in one process (``call_command``), which saves a Django start-up.
    """
    path = tmp / "seed.sqlite3"
    env = {**child_env(), "SQLITE_PATH": str(path), "MEDIA_ROOT": str(tmp / "media")}
    script = (
        "from django.core.management import call_command; "
        "call_command('migrate', interactive=False, verbosity=0); call_command('demo')"
    )
    processes.run_manage(["shell", "-c", script], env, tmp / "seed.log")
    conn = sqlite3.connect(path)
    try:  # fold the WAL into the file so that a plain copy is complete
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path


def make_server(seed: Path, tmp: Path, name: str = "server", **extra_env: str) -> LiveServer:
    """A server (not yet started) on a fresh copy of the seeded SQLite file, in a folder of its own."""
    tmp = tmp / name
    tmp.mkdir(parents=True)
    db_path = tmp / "instant.sqlite3"
    shutil.copyfile(seed, db_path)
    port = processes.free_port()
    env = child_env()
    env.update(
        {
            "SQLITE_PATH": str(db_path),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PORT": str(port),
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "INSTANT_SWEEP_SECONDS": "1",
            "INSTANT_WORK_POLL_SECONDS": "1",
            **extra_env,
        }
    )
    server = LiveServer(name=name, tmp=tmp, db_path=db_path, port=port, env=env)
    SERVERS.append(server)
    return server


def discard_server(server: LiveServer) -> None:
    server.stop()
    if server in SERVERS:
        SERVERS.remove(server)


# ----- customers and the fake provider ------------------------------------------------------------
def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1 x 1, 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


PNG = _png()


def png_for(name: str) -> bytes:
    """A valid 1 x 1 PNG, distinct per name: a text chunk before IEND carries the name."""
    data = b"name\x00" + name.encode()
    text = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return PNG[:-12] + text + PNG[-12:]


def phone(n: int) -> str:
    """A possible (not necessarily valid) E.164 number, distinct per ``n``."""
    return f"+1555{n:07d}"


def message_payload(*, message_id: str, customer: str, text: str = "", media_url: str | None = None) -> dict:
    """A Sandbox ``message`` event (apps/providers/sandbox.py): text, or an image at ``media_url``."""
    message: dict = {
        "id": message_id,
        "from": customer,
        "name": f"Customer {customer[-4:]}",
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "type": "image" if media_url else "text",
        "text": text,
    }
    if media_url:
        message["media"] = {"url": media_url, "content_type": "image/png", "filename": f"{message_id}.png"}
    return {"event": "message", "message": message}


class Gate:
    """Media answers of the fake provider that wait until the test opens them: a busy worker on demand.

    With ``INSTANT_WORK_CONCURRENCY=1`` a held download occupies the embedded worker's only slot, so
    every job asked for meanwhile is certainly still pending (unclaimed) when the test kills the
    server. That makes "killed before the work ran" a fact the test sets up, not a race it hopes to win.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[threading.Event, threading.Event]] = {}
        self._lock = threading.Lock()

    def hold(self, name: str) -> None:
        with self._lock:
            self._held[name] = (threading.Event(), threading.Event())

    def answer(self, name: str) -> tuple:
        with self._lock:
            held = self._held.get(name)
        if held is not None:
            opened, seen = held
            seen.set()
            # Bounded: a test that forgets to open the gate must not leave a thread behind for ever.
            opened.wait(timeout=60)
        return 200, png_for(name), {"Content-Type": "image/png"}

    def wait_seen(self, name: str, timeout: float = 20) -> None:
        with self._lock:
            _, seen = self._held[name]
        assert seen.wait(timeout), f"the server never asked the fake provider for the media {name!r}"

    def open(self, name: str) -> None:
        with self._lock:
            self._held[name][0].set()

    def open_all(self) -> None:
        with self._lock:
            for opened, _ in self._held.values():
                opened.set()


def start_provider() -> FakeProvider:
    """A fake provider (tests/fakeprovider.py) serving ``/media/<name>.png``, held by its ``gate`` on demand."""
    fake = start_fake_provider()
    gate = Gate()
    fake.gate = gate  # type: ignore[attr-defined]
    fake.route("GET", r"/media/(?P<name>[\w.-]+)\.png", lambda request, match: gate.answer(match["name"]))
    return fake


def stop_provider(fake: FakeProvider) -> None:
    fake.gate.open_all()  # type: ignore[attr-defined]
    fake.server.shutdown()
    fake.server.server_close()


def media_url(fake: FakeProvider, name: str) -> str:
    return f"{fake.url}/media/{name}.png"


def wait_for(
    probe: Callable[[], Any],
    *,
    timeout: float,
    until: Callable[[Any], bool] = bool,
    interval: float = 0.1,
    what: str = "condition",
) -> Any:
    """Poll ``probe()`` until ``until(value)``; return the value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {value!r})")
        time.sleep(interval)
