"""Task dispatch: Celery with REDIS_URL, the embedded worker without, inline in tests.

Tasks take ids, load, call one service and are safe to run twice. A task that wants a retry
schedules itself again with ``enqueue(..., countdown=...)`` rather than ``self.retry()``, so the
same code retries under Celery, in-process and inline.
"""
from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)

# In "sync" mode (tests) a task asked to run later waits here until the test runs it with
# ``run_deferred()``, the way a test moves the clock instead of sleeping.
deferred: list[tuple] = []


def run_deferred() -> int:
    """Run the tasks that sync mode held back (and any they schedule later in turn): once each."""
    batch = list(deferred)
    deferred.clear()
    for task, args in batch:
        task.run(*args)
    return len(batch)


def enqueue(task, *args, countdown: float | None = None) -> None:
    """Run ``task(*args)`` after the current transaction commits."""

    def fire() -> None:
        mode = settings.INSTANT_TASKS
        if mode == "celery":
            task.apply_async(args=args, countdown=countdown)
        elif mode == "sync":
            if countdown:
                deferred.append((task, args))
            else:
                task.run(*args)
        else:
            from . import inprocess

            inprocess.submit(task.run, args, countdown)

    transaction.on_commit(fire)


@shared_task(name="apps.core.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> None:
    from .deadlines import sweep

    sweep()
