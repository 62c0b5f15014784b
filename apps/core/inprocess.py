"""The embedded worker: runs deferred work and the deadline sweep inside the server process.

Used when there is no ``REDIS_URL`` (``make run``). It is the only runner then, so at start-up it
takes back every job a killed predecessor left running, and it claims due work whenever a commit
wakes it and at least every ``INSTANT_WORK_POLL_SECONDS``. Jobs run in executor threads, at most
``INSTANT_WORK_CONCURRENCY`` at once, so realtime events sent from them reach the in-memory channel
layer on the loop that owns it.
"""
from __future__ import annotations

import asyncio
import logging
import threading

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from . import work

log = logging.getLogger(__name__)

_loop: asyncio.AbstractEventLoop | None = None
_wakeup: asyncio.Event | None = None
_lock = threading.Lock()


def _with_connections(fn, *args):
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


async def _in_thread(fn, *args):
    return await sync_to_async(_with_connections, thread_sensitive=False)(fn, *args)


def wake(keys: list[str] | None = None) -> None:
    """Called after a commit (any thread): new work is due."""
    loop, event = _loop, _wakeup
    if loop is None or event is None or loop.is_closed():
        return
    loop.call_soon_threadsafe(event.set)


_running = 0


async def _run_job(job) -> None:
    global _running
    try:
        await _in_thread(work.execute, job)
    except Exception:  # execute records failures itself; this is a database outage while recording
        log.exception("work %s %s could not be recorded; its lease will run out and it runs again", job.kind, job.key)
    finally:
        _running -= 1
        if _wakeup is not None:
            _wakeup.set()  # a slot is free: more may be due


def _claim(limit: int):
    return work.claim_due(limit=limit)


async def _runner() -> None:
    global _running
    assert _wakeup is not None
    concurrency = max(1, settings.INSTANT_WORK_CONCURRENCY)
    poll = max(0.2, float(settings.INSTANT_WORK_POLL_SECONDS))
    try:
        released = await _in_thread(work.release_orphans)
        if released:
            log.info("took back %s job(s) a previous process left running", released)
    except Exception:
        log.exception("could not take back orphaned work; it runs when its lease ends")
    while True:
        _wakeup.clear()
        free = concurrency - _running
        if free > 0:
            try:
                jobs = await _in_thread(_claim, free)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not claim due work; trying again shortly")
                jobs = []
            for job in jobs:
                _running += 1
                asyncio.ensure_future(_run_job(job))
        try:
            await asyncio.wait_for(_wakeup.wait(), timeout=poll)
        except asyncio.TimeoutError:
            pass


async def _sweeper() -> None:
    interval = max(1, settings.INSTANT_SWEEP_SECONDS)
    while True:
        try:
            await _in_thread(work.sweep)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline sweep failed")
        await asyncio.sleep(interval)


def start(loop: asyncio.AbstractEventLoop) -> bool:
    """Bind the embedded worker to the server's loop and start it (once per process)."""
    global _loop, _wakeup
    with _lock:
        if _loop is loop:
            return False
        _loop = loop

    def begin() -> None:
        global _wakeup
        _wakeup = asyncio.Event()
        asyncio.ensure_future(_runner())
        asyncio.ensure_future(_sweeper())

    loop.call_soon_threadsafe(begin)
    log.info(
        "in-process worker started: deferred work (%s at once) and the deadline sweep (every %ss) run in this process",
        settings.INSTANT_WORK_CONCURRENCY,
        settings.INSTANT_SWEEP_SECONDS,
    )
    return True


def is_running() -> bool:
    return _loop is not None
