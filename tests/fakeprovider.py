"""A local fake provider: a real HTTP server on 127.0.0.1 that records every request.

Backends are pointed at it through the account's ``api_base_url``. Each test registers routes
(method + path regex) with a handler that checks the request against the provider's documented
format (PROTOCOLS.md) and returns ``(status, json_or_bytes, headers)``. A request that matches
no route is answered 599 and recorded in ``unmatched`` so the test fails loudly.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)

    def form_dict(self) -> dict[str, str]:
        return dict(self.form())

    def header(self, name: str) -> str:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return ""


Handler = Callable[[Recorded, "re.Match[str]"], tuple]


@dataclass
class FakeProvider:
    server: ThreadingHTTPServer
    routes: list[tuple[str, re.Pattern, Handler]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    unmatched: list[Recorded] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path_regex: str, handler: Handler | tuple) -> None:
        """Add a route; a tuple instead of a handler is a fixed answer."""
        if isinstance(handler, tuple):
            fixed = handler
            handler = lambda req, match: fixed  # noqa: E731
        self.routes.insert(0, (method.upper(), re.compile(path_regex + r"\Z"), handler))

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()
        self.unmatched.clear()
        self.errors.clear()

    def _dispatch(self, recorded: Recorded) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append(recorded)
        for method, pattern, handler in self.routes:
            match = pattern.match(recorded.path)
            if method == recorded.method and match:
                try:
                    answer = handler(recorded, match)
                except AssertionError as exc:  # a format check failed: tell the test
                    self.errors.append(f"{recorded.method} {recorded.path}: {exc}")
                    return 598, json.dumps({"fake_provider_error": str(exc)}).encode(), {"Content-Type": "application/json"}
                status, payload, *rest = answer
                headers = dict(rest[0]) if rest else {}
                if isinstance(payload, (bytes, bytearray)):
                    body = bytes(payload)
                    headers.setdefault("Content-Type", "application/octet-stream")
                elif isinstance(payload, str):
                    body = payload.encode()
                    headers.setdefault("Content-Type", "text/plain")
                else:
                    body = json.dumps(payload).encode()
                    headers.setdefault("Content-Type", "application/json")
                return status, body, headers
        self.unmatched.append(recorded)
        return 599, b'{"fake_provider_error": "no route"}', {"Content-Type": "application/json"}

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.unmatched, [f"{r.method} {r.path}" for r in self.unmatched]


def start_fake_provider() -> FakeProvider:
    fake: FakeProvider

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k: v for k, v in self.headers.items()},
                body=body,
            )
            status, payload, headers = fake._dispatch(recorded)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    fake = FakeProvider(server=server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake
