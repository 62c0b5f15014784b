"""Clients of the scaled-mode server that ``conftest.py`` starts: HTTP logins and a desktop websocket."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

WS_CLIENT = Path(__file__).resolve().with_name("ws_client.py")


@dataclass
class ScaledApp:
    url: str
    port: int
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    worker_starts: int = 0
    start_worker: Callable[[], None] | None = None

    def login_session(self, username: str, password: str) -> str:
        """Log in through the /login/ form as a browser would; return the session cookie's value."""
        with httpx.Client(base_url=self.url, timeout=15) as client:
            client.get("/login/")
            response = client.post(
                "/login/",
                data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            )
            assert response.status_code == 302, f"login as {username} failed: {response.status_code}"
            return client.cookies["sessionid"]

    def token(self, username: str, password: str) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/auth/token/", json={"username": username, "password": password}, timeout=15
        )
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def api(self, method: str, path: str, *, token: str, **kwargs) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers={"Authorization": f"Token {token}"}, timeout=15, **kwargs
        )


class DesktopSocket:
    """``/ws/desktop/`` opened with a session cookie, as the desktop page opens it.

    The client runs in a process of its own (``ws_client.py``); what it reports queues up here with
    the time it arrived.
    """

    def __init__(self, app: ScaledApp, session_id: str) -> None:
        self._items: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.closed: dict | None = None
        self.closed_at: float | None = None
        self._proc = subprocess.Popen(
            [sys.executable, str(WS_CLIENT), f"ws://127.0.0.1:{app.port}/ws/desktop/", app.url, session_id],
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        item = self._next(timeout=15)
        if item is None or "opened" not in item:
            raise AssertionError(f"the desktop socket did not open: {item or self.closed}")

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._items.put((time.monotonic(), json.loads(line)))
        self._items.put((time.monotonic(), {"closed": {"code": None, "reason": "the client process ended"}}))

    def _next(self, timeout: float) -> dict | None:
        try:
            at, item = self._items.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if "closed" in item and self.closed is None:
            self.closed, self.closed_at = item["closed"], at
        return item

    def stay_idle(self, seconds: float) -> None:
        """Wait ``seconds`` with no traffic of our own; fails at once if the server closes the socket."""
        started = time.monotonic()
        deadline = started + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            item = self._next(timeout=remaining)
            if self.closed is not None:
                raise AssertionError(
                    f"the idle socket was closed after {self.closed_at - started:.1f} s: {self.closed}"
                )
            del item  # an event nobody asked for (none is expected on a private installation)

    def next_event(self, event_type: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            item = self._next(timeout=remaining)
            if self.closed is not None:
                raise AssertionError(f"the socket closed while waiting for {event_type}: {self.closed}")
            if item is not None and item.get("event", {}).get("type") == event_type:
                return item["event"]
        raise AssertionError(f"no {event_type} within {timeout:.0f} s")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
