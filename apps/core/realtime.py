"""Realtime events leave only after the transaction that caused them commits (STYLE: events).

Groups: ``agent.<id>`` (one agent's desktops), ``queue.<id>`` (everyone who follows a queue),
``interaction.<id>`` (anyone watching one interaction, e.g. a supervisor spying),
``supervisors`` (the realtime board) and ``sandbox.<account id>`` (the customer simulator).
"""
from __future__ import annotations

import json
import logging
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


def send_now(groups: Iterable[str], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "event.push", "event": event}
    for group in dict.fromkeys(groups):
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # a realtime hiccup must never undo or block the committed write
            log.exception("could not push %s to %s", event.get("type"), group)


def publish(event: dict, *, groups: Iterable[str]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits."""
    # Serialise now: a value that json cannot carry must fail in the service, not in the socket.
    event = json.loads(json.dumps(event))
    groups = list(groups)
    transaction.on_commit(lambda: send_now(groups, event))

