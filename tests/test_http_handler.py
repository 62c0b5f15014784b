"""The web entry point runs each request's sync work on one thread, reused by later requests
(apps/core/http_handler.py): starting a thread per request was a good part of an ack's CPU (issue 11)."""
from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from apps.core.http_handler import KEPT_THREADS, SyncChainASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


def _recording_handler(monkeypatch, pause: float = 0.0) -> tuple[SyncChainASGIHandler, list[threading.Thread]]:
    handler = SyncChainASGIHandler()
    # The Thread objects themselves: a new thread may get the ident of one that has ended.
    threads: list[threading.Thread] = []
    real = handler.get_response

    def get_response(request):
        threads.append(threading.current_thread())
        if pause:
            threading.Event().wait(pause)
        return real(request)

    monkeypatch.setattr(handler, "get_response", get_response)
    return handler, threads


async def _get(handler, count: int, *, together: bool) -> list[int]:
    transport = httpx.ASGITransport(app=handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if together:
            responses = await asyncio.gather(*(client.get("/healthz/") for _ in range(count)))
        else:
            responses = [await client.get("/healthz/") for _ in range(count)]
    return [r.status_code for r in responses]


def test_requests_one_after_another_reuse_one_thread(monkeypatch):
    handler, threads = _recording_handler(monkeypatch)
    assert asyncio.run(_get(handler, 5, together=False)) == [200] * 5
    assert len(threads) == 5 and len(set(threads)) == 1
    assert threading.current_thread() not in threads  # never the event loop's thread


def test_requests_at_the_same_time_each_have_a_thread_of_their_own(monkeypatch):
    handler, threads = _recording_handler(monkeypatch, pause=0.2)
    assert asyncio.run(_get(handler, 3, together=True)) == [200] * 3
    assert len(set(threads)) == 3
    assert len(handler._idle) == 3  # kept for the next requests
    assert KEPT_THREADS >= 3
