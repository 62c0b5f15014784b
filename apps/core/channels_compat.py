"""Channels (4.2+) runs ``close_old_connections`` in a thread hop before every consumer message.

``AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` (a ``sync_to_async`` call) before each
handler, so a desktop socket paid a thread hand-off for every event it forwarded: py-spy put 62 % of
the web process's CPU in it while one event fanned out to 2,000 sockets (bench/sockets.py). Our
consumers touch the database only through ``database_sync_to_async``, which closes old connections
itself, in the thread that uses them, before and after each call (``channels.db.DatabaseSyncToAsync``);
the hop before every message closes nothing that call would not. So the web process skips it.
"""
from __future__ import annotations


async def _connections_closed_by_database_sync_to_async() -> None:
    return None


def skip_connection_check_per_message() -> bool:
    """Make channels' consumers dispatch without the per-message hop; False where this Channels has none."""
    try:
        from channels import consumer
    except ImportError:
        return False
    if not hasattr(consumer, "aclose_old_connections"):
        return False
    consumer.aclose_old_connections = _connections_closed_by_database_sync_to_async
    return True
