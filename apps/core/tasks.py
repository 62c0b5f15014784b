"""Celery's part in deferred work: wake the runner. The work itself is rows (apps.core.work).

Tasks take job keys and are safe to run twice: ``run_work`` claims its jobs with a conditional UPDATE,
so a redelivered or duplicated wake-up finds them taken or done. Beat runs ``run_due_work`` and the
deadline sweep on a short schedule, which is what recovers work whose wake-up was lost or whose
worker was killed.
"""
from __future__ import annotations

from celery import shared_task

from . import work


@shared_task(name="apps.core.tasks.run_work", ignore_result=True)
def run_work(keys: list[str]) -> None:
    work.run_due(keys=keys)


@shared_task(name="apps.core.tasks.run_due_work", ignore_result=True)
def run_due_work() -> None:
    work.run_due()


@shared_task(name="apps.core.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> None:
    work.sweep()


def celery_waker(keys: list[str]) -> None:
    run_work.apply_async(args=[keys])
