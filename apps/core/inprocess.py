"""The embedded worker: runs tasks and the deadline sweep inside the server process.

Used when there is no ``REDIS_URL`` (``make run``). Work is scheduled on the server's event loop
and run in executor threads, so realtime events sent from a task reach the in-memory channel
layer on the loop that owns it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _run(fn: Callable, args: tuple) -> None:
    close_old_connections()
    try:
        fn(*args)
    except Exception:
        log.exception("in-process task %s failed", getattr(fn, "__name__", fn))
    finally:
        close_old_connections()


async def _run_async(fn: Callable, args: tuple) -> None:
    await sync_to_async(_run, thread_sensitive=False)(fn, args)


def submit(fn: Callable, args: tuple = (), countdown: float | None = None) -> None:
    loop = _loop
    if loop is None or loop.is_closed():
        # No server loop (a management command, the shell): run right here.
        _run(fn, args)
        return

    def schedule() -> None:
        loop.call_later(max(0.0, countdown or 0.0), lambda: asyncio.ensure_future(_run_async(fn, args)))

    loop.call_soon_threadsafe(schedule)


async def _sweeper() -> None:
    from apps.core.deadlines import sweep

    interval = max(1, settings.INSTANT_SWEEP_SECONDS)
    while True:
        try:
            await sync_to_async(_run, thread_sensitive=False)(sweep, ())
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - _run logs already
            log.exception("deadline sweep failed")
        await asyncio.sleep(interval)


def start(loop: asyncio.AbstractEventLoop) -> bool:
    """Bind the embedded worker to the server's loop and start the sweep (once per process)."""
    global _loop
    with _lock:
        if _loop is loop:
            return False
        _loop = loop
    loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_sweeper()))
    log.info("in-process worker started: tasks and the deadline sweep (every %ss) run in this process",
             settings.INSTANT_SWEEP_SECONDS)
    return True


def is_running() -> bool:
    return _loop is not None
