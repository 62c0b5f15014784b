"""The load generators' HTTP client: keep-alive HTTP/1.1 over asyncio streams, requests built in advance.

Written here rather than taken from httpx because the load and the server under test share the same
two cores: sampled from /proc during a load_webhooks.py run, httpx's async client spent about 2.7 ms of
CPU per request (half a core at 150 requests a second), CPU the servers under test then lacked. This
client spends a fraction of that: each request is a bytes object prepared before the clock starts, and
an answer is read as its status line, its headers and a
``Content-Length`` body. That is all it understands (no chunked bodies, no redirects, no TLS), which is
what Django and uvicorn send for the pages the benchmarks load.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """An answer this client cannot read (it counts as a transport error)."""


def build_request(url: str, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Answer:
    key: str
    status: int | None  # None: a transport error, named in ``error``
    seconds: float
    error: str = ""


@dataclass
class _Connection:
    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise ProtocolError(f"bad status line {status_line!r}") from exc
        length, close = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise ProtocolError("chunked answers are not read by this client")
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class LoadRun:
    answers: list[Answer] = field(default_factory=list)
    started_at: float = 0.0  # time.time() of the first send
    elapsed: float = 0.0


async def load(url: str, requests: Iterable[tuple[str, bytes]], concurrency: int) -> LoadRun:
    """Send each ``(key, request bytes)`` to ``url``'s host with ``concurrency`` connections in flight."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pending: Iterator[tuple[str, bytes]] = iter(requests)
    run = LoadRun()

    async def worker() -> None:
        connection = _Connection(host, port)
        try:
            for key, request in pending:
                started = time.perf_counter()
                try:
                    status = await connection.send(request)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError) as exc:
                    connection.close()
                    run.answers.append(Answer(key, None, time.perf_counter() - started, type(exc).__name__))
                    continue
                run.answers.append(Answer(key, status, time.perf_counter() - started))
        finally:
            connection.close()

    run.started_at = time.time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run
