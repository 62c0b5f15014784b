"""A fast fake Meta Cloud API for bench/campaigns.py, in a process of its own.

tests/fakeprovider.py checks every request for the tests, but it is a thread per connection in the
process that measures; at hundreds of sends a second it, not the product, would set the figure. This
one is a bare asyncio HTTP/1.1 server (keep-alive, Content-Length bodies only, which is what httpx
sends): the standard library's servers are thread- or fork-based, and nothing in our dependencies
serves plain HTTP without Django or ASGI in the way. It answers every template send at once
with a wamid and counts sends per number.

    python bench/_fake_meta.py PORT
    GET /_stats -> {"requests": n, "numbers": n, "duplicates": n}
"""
from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

sends: Counter = Counter()
requests = 0


def _answer(status: int, payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return (
        f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    )


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global requests
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if method == "GET" and path == "/_stats":
                dup = sum(1 for count in sends.values() if count > 1)
                writer.write(_answer(200, {"requests": requests, "numbers": len(sends), "duplicates": dup}))
            elif method == "POST" and path.endswith("/messages"):
                to = json.loads(body)["to"]
                requests += 1
                sends[to] += 1
                writer.write(_answer(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                           "messages": [{"id": f"wamid.B{requests}"}]}))
            else:
                writer.write(_answer(404, {"error": {"message": f"no route {method} {path}"}}))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
