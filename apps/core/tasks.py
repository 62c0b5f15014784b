"""Celery's part in deferred work: wake the runner. The work itself is rows (apps.core.work).

Tasks are safe to run twice: ``run_work`` claims due jobs with a conditional UPDATE, so a redelivered
or duplicated wake-up finds them taken or done. Beat runs ``run_due_work`` and the
deadline sweep on a short schedule, which is what recovers work whose wake-up was lost or whose
worker was killed.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from celery import shared_task

from . import work

log = logging.getLogger(__name__)

# Keys per wake-up task, and what one claim takes at most (work.run_due's limit), run as one batch.
# Batches of 50 rather than 20 took the processing of 2,000 webhooks from about 250 to about 330 a
# second on the 2-core box (bench/load_webhooks.py); none fell back to one by one for a lock wait.
WAKE_BATCH = 50
# After each publish the waker lets keys pile up for this long. An idle server still wakes the runner
# at once (the pause comes after a publish, not before); under load one message carries the keys of
# many webhooks. Each Celery publish costs the web process about a third of a millisecond of CPU
# (kombu builds and sends a full task message), which at one per webhook was a tenth of an ack.
WAKE_PAUSE_SECONDS = 0.05


@shared_task(name="apps.core.tasks.run_work", ignore_result=True)
def run_work(keys: list[str]) -> None:
    # The keys say what woke it; it claims whatever is due, oldest first, up to a batch (its keys
    # among them unless another runner took them). A worker that keeps up runs each webhook as it
    # comes; one that fell behind catches up in batches of WAKE_BATCH (work._execute_batch), and the
    # wake-ups queued meanwhile find their rows done and cost a claim query each.
    work.run_due(limit=max(WAKE_BATCH, len(keys)), once=True)


@shared_task(name="apps.core.tasks.run_due_work", ignore_result=True)
def run_due_work() -> None:
    work.run_due(limit=WAKE_BATCH)


@shared_task(name="apps.core.tasks.sweep_deadlines", ignore_result=True)
def sweep_deadlines() -> None:
    work.sweep()


class BatchedWaker:
    """Publishes wake-ups from one thread per process, so a commit never waits for the broker.

    A webhook's acknowledgement used to publish its own Celery message in the request (about a fifth
    of the ack's time in py-spy). Now the commit only hands its keys over; this thread publishes them,
    and keys that arrive while it is publishing leave together in the next message, so a burst costs
    a few publishes instead of one each (``WAKE_PAUSE_SECONDS``). Nothing waits when the server is
    idle. The rows are the truth: a wake-up lost with a dying process is made up by beat's
    ``run_due_work`` within a second.
    """

    def __init__(self, publish=None, batch: int = WAKE_BATCH, pause: float = WAKE_PAUSE_SECONDS) -> None:
        self._publish = publish or (lambda keys: run_work.apply_async(args=[keys]))
        self._batch = batch
        self._pause = pause
        self._reset()
        # A forked child (Celery's prefork pool) has no publishing thread and may have inherited the
        # lock held: it starts afresh, with its own thread on first use.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._keys: list[str] = []
        self._ready = threading.Condition()
        self._started = False

    def __call__(self, keys: list[str]) -> None:
        with self._ready:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="instant-waker", daemon=True).start()
            self._keys.extend(keys)
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._keys:
                    self._ready.wait()
                keys, self._keys = self._keys, []
            for start in range(0, len(keys), self._batch):
                chunk = keys[start : start + self._batch]
                try:
                    self._publish(chunk)
                except Exception:  # the rows are stored: beat's run_due_work claims them
                    log.exception("could not wake the work runner for %s", chunk)
            if self._pause:
                time.sleep(self._pause)


celery_waker = BatchedWaker()
