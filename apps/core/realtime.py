"""Realtime events leave only after the transaction that caused them commits (STYLE: events).

Groups: ``agent.<id>`` (one agent's desktops), ``queue.<id>`` (everyone who follows a queue),
``interaction.<id>`` (anyone watching one interaction, e.g. a supervisor spying),
``supervisors`` (the realtime board) and ``sandbox.<account id>`` (the customer simulator).

The events of one transaction travel together: one channel-layer message per group (``events.push``,
in order), which the consumers unpack into the same single events a socket always received.
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

    def send(self, layer, phases: list[list[tuple[str, dict]]]) -> None:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(_send_phases(layer, phases), self.loop)
        # Waiting keeps the order of one thread's events, as a direct send would.
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


PUBLISH_TIMEOUT_SECONDS = 10
publisher = _Publisher()


async def _send_phases(layer, phases: list[list[tuple[str, dict]]]) -> None:
    """Each phase once the one before it is published (the trailing events after the others)."""
    for messages in phases:
        await _send_all(layer, messages)


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    """Each group its message, all at once (the order between different groups does not matter)."""
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages), return_exceptions=True
    )
    for (group, message), result in zip(messages, results):
        if isinstance(result, Exception):
            log.error("could not push %s to %s: %r", _types(message), group, result)


def _types(message: dict) -> str:
    events = message.get("events") or [message.get("event") or {}]
    return ",".join(str(e.get("type")) for e in events)


def group_message(events: list[dict]) -> dict:
    """What one group receives: one event as ``event.push``, several (one transaction's, in order)
    as one ``events.push`` that the consumers unpack into the same single events."""
    if len(events) == 1:
        return {"type": "event.push", "event": events[0]}
    return {"type": "events.push", "events": events}


# Event families that follow the rest of their transaction's events, published once the others are.
# A new customer's first message creates the contact before its interaction is offered; the contact
# lists that ``contact.*`` refreshes (D9) can wait behind the offer that rings every agent's desktop and
# the queue's counters, and a fan-out to 2,000 sockets sends each event in turn (bench/sockets.py).
# Other events keep their order.
TRAILING_FAMILIES = ("contact.",)


def _trailing(event: dict) -> bool:
    return str(event.get("type", "")).startswith(TRAILING_FAMILIES)


def _group_messages(items: list[tuple[list[str], dict]]) -> list[tuple[str, dict]]:
    per_group: dict[str, list[dict]] = {}
    for groups, event in items:
        for group in dict.fromkeys(groups):
            per_group.setdefault(group, []).append(event)
    return [(group, group_message(events)) for group, events in per_group.items()]


def deliver(items: list[tuple[list[str], dict]]) -> None:
    """Send ``(groups, event)`` pairs now: one channel-layer message per group, events in order; the
    ``TRAILING_FAMILIES`` in a second message per group, published after the first ones."""
    layer = get_channel_layer()
    if layer is None or not items:
        return
    leading = _group_messages([item for item in items if not _trailing(item[1])])
    trailing = _group_messages([item for item in items if _trailing(item[1])])
    phases = [messages for messages in (leading, trailing) if messages]
    try:
        if publisher.running:
            publisher.send(layer, phases)
        else:
            async_to_sync(_send_phases)(layer, phases)
    except Exception:  # a realtime hiccup must never undo or block the committed write
        log.exception("could not push %s event(s) to %s", len(items), [g for phase in phases for g, _ in phase])


def send_now(groups: Iterable[str], event: dict) -> None:
    """One event to ``groups`` now (outside any transaction)."""
    deliver([(list(groups), event)])


class _TransactionEvents:
    """The events one transaction publishes, sent together once it commits.

    Each event is collected by its own ``on_commit`` callback, so Django's bookkeeping still drops
    the events of a savepoint that rolls back. Each publish also registers a flush; a flush sends
    what was collected unless a later flush is sure to run after it: one registered at the same
    savepoint level or outside it (a savepoint that rolls back drops its inner flushes only, never
    an outer one). In the usual case (every event at one level) only the last flush sends.
    Django keeps no per-transaction state to hang this on, so a batch belongs to the connection's
    list of commit callbacks (``run_on_commit``): committing starts a new list, and so a new batch.
    """

    def __init__(self, hooks: list) -> None:
        self.hooks = hooks
        self.collected: list[tuple[list[str], dict]] = []
        self.flushes: list[frozenset] = []

    def add(self, connection, groups: list[str], event: dict) -> None:
        transaction.on_commit(lambda: self.collected.append((groups, event)), using=connection.alias)
        index = len(self.flushes)
        # The savepoints this publish happens in: the same set Django files its callback under.
        self.flushes.append(frozenset(connection.savepoint_ids))
        transaction.on_commit(lambda: self.flush(index), using=connection.alias)

    def flush(self, index: int) -> None:
        mine = self.flushes[index]
        if any(later <= mine for later in self.flushes[index + 1 :]):
            return
        items, self.collected = self.collected, []
        deliver(items)


def publish(event: dict, *, groups: Iterable[str]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits, with the transaction's
    other events: one channel-layer message per group for the whole transaction."""
    # Serialise now: a value that json cannot carry must fail in the service, not in the socket.
    event = json.loads(json.dumps(event))
    groups = list(groups)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        transaction.on_commit(lambda: send_now(groups, event))  # autocommit: at once, as Django does
        return
    batch = getattr(connection, "_instant_events", None)
    if batch is None or batch.hooks is not connection.run_on_commit:
        batch = _TransactionEvents(connection.run_on_commit)
        connection._instant_events = batch
    batch.add(connection, groups, event)
