"""Realtime publishing from worker threads reuses one event loop, and so one channel-layer pool.

channels-redis keeps a connection pool per event loop; ``async_to_sync`` from a thread with no loop
above it (a Celery worker's) makes a new loop for every call, which opened fresh Redis connections for
every event. Worker processes publish through ``realtime.publisher`` instead.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

from apps.core import realtime


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message["event"]["type"], id(asyncio.get_running_loop())))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recording)
    return recording


def _from_threads(n: int) -> None:
    threads = [
        threading.Thread(target=realtime.send_now, args=(["agent.1", "queue.2"], {"type": "test.event", "data": {}}))
        for _ in range(n)
    ]
    for thread in threads:
        thread.start()
        thread.join()


def test_without_the_publisher_every_send_from_a_bare_thread_gets_a_new_loop(layer):
    assert not realtime.publisher.running
    _from_threads(3)
    assert len(layer.sent) == 6
    assert len({loop for _, _, loop in layer.sent}) == 3  # one loop (and pool) per call: what the fix avoids


def test_with_the_publisher_every_send_goes_through_one_long_lived_loop(layer, monkeypatch):
    publisher = realtime._Publisher()
    monkeypatch.setattr(realtime, "publisher", publisher)
    publisher.start()
    try:
        _from_threads(3)
    finally:
        publisher.loop.call_soon_threadsafe(publisher.loop.stop)
    assert sorted((g, t) for g, t, _ in layer.sent) == sorted([("agent.1", "test.event"), ("queue.2", "test.event")] * 3)
    assert {loop for _, _, loop in layer.sent} == {id(publisher.loop)}


def test_a_failing_group_does_not_stop_the_others(monkeypatch):
    class Flaky(RecordingLayer):
        async def group_send(self, group: str, message: dict) -> None:
            if group == "agent.1":
                raise ConnectionError("redis went away")
            await super().group_send(group, message)

    flaky = Flaky()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: flaky)
    realtime.send_now(["agent.1", "queue.2"], {"type": "test.event", "data": {}})
    assert [g for g, _, _ in flaky.sent] == ["queue.2"]
