"""Realtime events leave only after the transaction that caused them commits (STYLE: events).

Groups: ``agent.<id>`` (one agent's desktops), ``queue.<id>`` (everyone who follows a queue),
``interaction.<id>`` (anyone watching one interaction, e.g. a supervisor spying),
``supervisors`` (the realtime board) and ``sandbox.<account id>`` (the customer simulator).
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def queue_group(queue_id: int) -> str:
    return f"queue.{queue_id}"


def interaction_group(interaction_id: int) -> str:
    return f"interaction.{interaction_id}"


def sandbox_group(account_id: int) -> str:
    return f"sandbox.{account_id}"


SUPERVISORS_GROUP = "supervisors"
# Every desktop socket, whoever its user: installation-wide news such as a new masking level.
DESKTOPS_GROUP = "desktops"


class _Publisher:
    """One event loop per worker process that owns the channel layer's Redis connections.

    ``async_to_sync`` called from a thread with no event loop above it (a Celery worker's) makes a new
    loop for every call, and channels-redis keeps one connection pool per loop: every event opened
    fresh Redis connections (about two per message under load). Sends from such threads go through
    this one long-lived loop instead, so the pool is reused. Web processes don't need it: their sync
    code runs below Daphne's loop, which ``async_to_sync`` already goes back to.
    """

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.loop is not None and self.loop.is_running():
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="realtime-publisher", daemon=True).start()
            ready.wait(5)
            self.loop = loop

    @property
    def running(self) -> bool:
        return self.loop is not None and self.loop.is_running()

    def send(self, layer, groups: list[str], message: dict) -> None:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(_send_all(layer, groups, message), self.loop)
        # Waiting keeps the order of one thread's events, as a direct send would.
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


PUBLISH_TIMEOUT_SECONDS = 10
publisher = _Publisher()


async def _send_all(layer, groups: list[str], message: dict) -> None:
    """One event to its groups at once (the order between different groups does not matter)."""
    results = await asyncio.gather(*(layer.group_send(group, message) for group in groups), return_exceptions=True)
    for group, result in zip(groups, results):
        if isinstance(result, Exception):
            log.error("could not push %s to %s: %r", message["event"].get("type"), group, result)


def send_now(groups: Iterable[str], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.push", "event": event}
    groups = list(dict.fromkeys(groups))
    try:
        if publisher.running:
            publisher.send(layer, groups, message)
        else:
            async_to_sync(_send_all)(layer, groups, message)
    except Exception:  # a realtime hiccup must never undo or block the committed write
        log.exception("could not push %s to %s", event.get("type"), groups)


def publish(event: dict, *, groups: Iterable[str]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits."""
    # Serialise now: a value that json cannot carry must fail in the service, not in the socket.
    event = json.loads(json.dumps(event))
    groups = list(groups)
    transaction.on_commit(lambda: send_now(groups, event))

