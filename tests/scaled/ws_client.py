"""A desktop websocket client in a process of its own: ``python ws_client.py URL ORIGIN SESSION_ID``.

It prints one JSON line per happening: ``{"opened": true}``, ``{"event": {...}}`` for each server
message, and ``{"closed": {"code", "reason"}}`` before it exits. Autobahn comes with Daphne, so no
websocket client is added to the dependencies; its asyncio flavour cannot run inside the test
process, where Daphne has already made txaio use Twisted.
"""
from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import urlsplit

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol


def emit(item: dict) -> None:
    sys.stdout.write(json.dumps(item) + "\n")
    sys.stdout.flush()


async def main(url: str, origin: str, session_id: str) -> int:
    loop = asyncio.get_running_loop()
    closed: asyncio.Future = loop.create_future()

    class Protocol(WebSocketClientProtocol):
        def onOpen(self) -> None:
            emit({"opened": True})

        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            emit({"event": json.loads(payload)})

        def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
            emit({"closed": {"code": code, "reason": reason, "clean": wasClean}})
            if not closed.done():
                closed.set_result(code)

    factory = WebSocketClientFactory(url=url, origin=origin, headers={"Cookie": f"sessionid={session_id}"})
    factory.protocol = Protocol
    parts = urlsplit(url)
    await loop.create_connection(factory, parts.hostname, parts.port)
    await closed
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
