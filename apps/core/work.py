"""Deferred work is a row (PRODUCT.md X3, STYLE "Deferred work is a row").

Every piece of work that outlives a request (processing a webhook event, a send, a media download,
the Sandbox cloud's webhook posts, later campaign sends) is a :class:`~apps.core.models.Job` row,
stored in the same transaction as the write that asks for it. One runner claims due rows and runs
them; Celery tasks and the embedded loop only wake it sooner, so a process killed at any moment
loses nothing: the row is still there, and its lease runs out.

- Claiming: ``select_for_update(skip_locked=True)`` where the database has it (PostgreSQL), and on
  every database a conditional ``UPDATE ... WHERE state=pending`` whose row count says who won (on
  SQLite the IMMEDIATE transaction serialises claimers as well).
- A claimed row is ``running`` until ``locked_until``; a runner that dies leaves it there and the
  next sweep claims it again. A claim counts as an attempt, so a job that kills its runner cannot
  loop for ever.
- Every exception is retried with :func:`backoff_delay` (exponential with jitter, honouring a
  ``retry_after`` the error carries), transient database errors included. An error with
  ``permanent = True`` (``ProviderError`` has it) or the last attempt fails the row: it stays in the
  admin with its ``last_error`` and a retry action, and the kind's ``on_failure`` marks the domain row.

Apps register their kinds in ``AppConfig.ready()`` (``apps/core`` imports no domain app).
"""
from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .models import Job

log = logging.getLogger(__name__)

# A handler returns None when its work is done, or a number of seconds: "ask me again then". A long
# pump (a campaign's sends) runs in slices that way, each slice a fresh claim of the same row.
Handler = Callable[[dict], "float | None"]
# A kind may also take several claimed rows at once, in one transaction (see ``_execute_batch``).
BatchHandler = Callable[[list[dict]], None]
FailureHandler = Callable[[dict, BaseException], None]
RetryHandler = Callable[[dict], None]


@dataclass(frozen=True)
class WorkKind:
    name: str
    handler: Handler
    max_attempts: int
    on_failure: FailureHandler | None = None
    on_retry: RetryHandler | None = None
    lease_seconds: float | None = None
    batch_handler: BatchHandler | None = None


_kinds: dict[str, WorkKind] = {}


def register(
    name: str,
    handler: Handler,
    *,
    max_attempts: int = 8,
    on_failure: FailureHandler | None = None,
    on_retry: RetryHandler | None = None,
    lease_seconds: float | None = None,
    batch_handler: BatchHandler | None = None,
) -> None:
    """Declare a kind of work (from an ``AppConfig.ready()``).

    ``on_failure(args, exc)`` marks the domain row when the work fails for good; ``on_retry(args)``
    undoes that mark when an admin retries it, so the handler finds its row to do again.
    ``lease_seconds`` shortens the claim of a kind whose runs are short slices, so the work of a
    killed runner is taken up again sooner than ``INSTANT_WORK_LEASE_SECONDS``.
    ``batch_handler(list_of_args)`` does the work of several rows claimed together in one transaction
    (the whole batch or nothing; anything it raises sends each row through ``handler`` instead).
    """
    _kinds[name] = WorkKind(
        name=name, handler=handler, max_attempts=max_attempts, on_failure=on_failure, on_retry=on_retry,
        lease_seconds=lease_seconds, batch_handler=batch_handler,
    )


def kinds() -> dict[str, WorkKind]:
    return dict(_kinds)


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential with jitter, or what the server asked.

    Equal jitter (half fixed, half random) spreads retries of a burst of failures apart while keeping
    a floor, so a provider that answered 429 is not hammered again at once by every worker.
    """
    if retry_after is not None and retry_after >= 0:
        return float(retry_after)
    base = float(settings.INSTANT_WORK_RETRY_BASE_SECONDS)
    delay = min(float(settings.INSTANT_WORK_RETRY_MAX_SECONDS), base * 2 ** max(0, attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


# ----- asking for work -----------------------------------------------------------------------------
_wakers: dict[str, Callable[[list[str]], None]] = {}


def set_waker(mode: str, waker: Callable[[list[str]], None]) -> None:
    """Who is told, after commit, that new work is due, per ``INSTANT_TASKS`` mode (from CoreConfig.ready)."""
    _wakers[mode] = waker


def run_inline(keys: list[str]) -> None:
    """``INSTANT_TASKS=sync`` (tests): run the new work right here, as a wake-up would elsewhere."""
    run_due(keys=keys)


def enqueue(kind: str, *, key: str, args: dict | None = None, delay: float = 0, reset: bool = False) -> None:
    """Store the work ``key`` (once) in the current transaction; wake a runner after commit.

    ``key`` makes asking twice harmless: the same send or the same event is one row. ``reset`` puts an
    existing failed row back to pending, for a reprocess asked by an admin.
    """
    _require_kind(kind)
    due = timezone.now() + timedelta(seconds=delay)
    # INSERT ... ON CONFLICT DO NOTHING: no savepoint, and a second ask for the same key is a no-op.
    Job.objects.bulk_create([Job(kind=kind, key=key, args=args or {}, next_attempt_at=due)], ignore_conflicts=True)
    if reset:
        Job.objects.filter(key=key, state=Job.State.FAILED).update(
            state=Job.State.PENDING, attempts=0, next_attempt_at=due, last_error="", finished_at=None
        )
    if delay <= 0:
        wake_after_commit([key])


def _require_kind(kind: str) -> None:
    if kind not in _kinds:
        raise KeyError(f"unknown work kind {kind!r}: register it in its app's AppConfig.ready()")


def insert_per_row_sql(
    kind: str, *, source: str, id_column: str, key_prefix: str, arg: str, where: str = ""
) -> tuple[str, list]:
    """PostgreSQL: an ``INSERT ... SELECT`` that stores one row of ``kind`` per row of ``source`` (a CTE
    of the caller's statement), keyed ``key_prefix`` + its ``id_column``, with args ``{arg: id}``.

    For a caller that stores its domain row and its work in one statement (the webhook acknowledgement,
    issue 11): in autocommit a single statement is its own transaction, so the two rows are stored
    together without BEGIN and COMMIT round trips. Wake the runner with ``wake_after_commit``.
    """
    _require_kind(kind)
    meta = Job._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in (
        "kind", "key", "args", "state", "attempts", "next_attempt_at", "claim", "last_error", "created_at"))
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({columns}) "
        f"SELECT %s, concat(%s, {id_column}), jsonb_build_object(%s, {id_column}), %s, 0, now(), '', '', now() "
        f"FROM {source}{f' WHERE {where}' if where else ''} ON CONFLICT ({qn(meta.get_field('key').column)}) DO NOTHING"
    )
    return sql, [kind, key_prefix, arg, Job.State.PENDING]


def wake_after_commit(keys: list[str]) -> None:
    """Wake a runner for ``keys`` once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(lambda: _wake(keys))


def _wake(keys: list[str]) -> None:
    waker = _wakers.get(settings.INSTANT_TASKS)
    if waker is None:
        return
    try:
        waker(keys)
    except Exception:  # the row is stored: a sweep runs it even if the wake-up is lost
        log.exception("could not wake the work runner for %s", keys)


# ----- running it --------------------------------------------------------------------------------
def _due(now: datetime) -> Q:
    return Q(state=Job.State.PENDING, next_attempt_at__lte=now) | Q(state=Job.State.RUNNING, locked_until__lte=now)


def claim_due(*, now: datetime | None = None, keys: list[str] | None = None, limit: int = 20) -> list[Job]:
    """Claim up to ``limit`` due jobs (``keys``: only those) for this runner; they are ``running`` until done."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    lease = now + timedelta(seconds=settings.INSTANT_WORK_LEASE_SECONDS)
    with transaction.atomic():
        candidates = Job.objects.filter(_due(now))
        if keys is not None:
            candidates = candidates.filter(key__in=keys)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        picked = list(candidates.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
        if not picked:
            return []
        # The conditional UPDATE settles the race where row locks do not exist (SQLite).
        Job.objects.filter(_due(now), pk__in=picked).update(
            state=Job.State.RUNNING, locked_until=_lease_of(now, lease), claim=token, attempts=F("attempts") + 1
        )
        return list(Job.objects.filter(claim=token).order_by("next_attempt_at", "id"))


def _lease_of(now: datetime, default: datetime):
    short = [When(kind=k.name, then=Value(now + timedelta(seconds=k.lease_seconds)))
             for k in _kinds.values() if k.lease_seconds]
    return Case(*short, default=Value(default), output_field=Job._meta.get_field("locked_until")) if short else default


def execute(job: Job) -> str:
    """Run one claimed job and record the outcome; returns ``done``, ``again``, ``retry`` or ``failed``."""
    kind = _kinds.get(job.kind)
    if kind is None:
        return _fail(job, RuntimeError(f"unknown work kind {job.kind!r}"), None)
    try:
        again = kind.handler(dict(job.args))
    except Exception as exc:  # every exception is retried or recorded, never lost
        permanent = bool(getattr(exc, "permanent", False))
        if permanent or job.attempts >= kind.max_attempts:
            return _fail(job, exc, kind)
        delay = backoff_delay(job.attempts, getattr(exc, "retry_after", None))
        log.warning("%s %s failed (attempt %s), retry in %.1fs: %s", job.kind, job.key, job.attempts, delay, exc)
        _finish(
            job,
            state=Job.State.PENDING,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=_describe(exc),
            locked_until=None,
            claim="",
        )
        return "retry"
    if again is not None:
        # The next slice of the same work: a fresh start for its attempts, due after ``again``.
        _finish(
            job,
            state=Job.State.PENDING,
            attempts=0,
            next_attempt_at=timezone.now() + timedelta(seconds=max(0.0, float(again))),
            last_error="",
            locked_until=None,
            claim="",
        )
        # In sync mode (tests) the caller drives the next slice: waking inline would run a whole
        # campaign inside one call.
        if again <= 0 and settings.INSTANT_TASKS != "sync":
            _wake([job.key])
        return "again"
    # Done rows are removed: the domain row (event, message) says what happened, and the table
    # stays as small as the work in flight.
    Job.objects.filter(pk=job.pk, claim=job.claim).delete()
    return "done"


def _fail(job: Job, exc: BaseException, kind: WorkKind | None) -> str:
    log.error("%s %s failed for good after %s attempt(s): %s", job.kind, job.key, job.attempts, exc)
    with transaction.atomic():
        if not _finish(
            job,
            state=Job.State.FAILED,
            last_error=_describe(exc),
            finished_at=timezone.now(),
            locked_until=None,
            claim="",
        ):
            return "lost"  # the lease ran out and another runner has it now
        if kind is not None and kind.on_failure is not None:
            kind.on_failure(dict(job.args), exc)
    return "failed"


def _finish(job: Job, **fields) -> bool:
    # Only the claimer may record the outcome: after a lease ran out another runner owns the row.
    return bool(Job.objects.filter(pk=job.pk, claim=job.claim).update(**fields))


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "code", "")
    text = f"{type(exc).__name__}: {exc}"
    return (f"[{code}] " if code else "") + text[:4000]


# How long a batch waits for a row lock before it gives up and its rows run one by one (PostgreSQL).
# Two batches that lock the same rows in different orders would otherwise wait for the deadlock
# detector (deadlock_timeout, 1 s by default, settable only by a superuser).
BATCH_LOCK_TIMEOUT_MS = 200


def _execute_batch(kind: WorkKind, jobs: list[Job]) -> bool:
    """Run ``jobs`` of one kind through its batch handler, in one transaction; False if it raised.

    Why batches: per message, the per-row path paid a claim share, a read of its webhook event, an
    update of it, a delete of its row and a commit, each compiled by the ORM afresh; together with the
    handler's own queries that was most of a worker's CPU (issue 11, py-spy). A batch pays each of
    them once. On any exception nothing of the batch is kept, and the caller runs each row on its own,
    where retries, backoff and failures are settled per row as always.
    """
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{BATCH_LOCK_TIMEOUT_MS}ms'")
            kind.batch_handler([dict(job.args) for job in jobs])
            # One claim token per claim_due call, so one statement removes the batch's rows.
            Job.objects.filter(pk__in=[job.pk for job in jobs], claim=jobs[0].claim).delete()
    except Exception as exc:  # nothing of the batch is kept: each row runs on its own below
        log.warning("a batch of %s %s rows failed (%r); running them one by one", len(jobs), kind.name, exc)
        return False
    return True


def _run_claimed(jobs: list[Job]) -> None:
    by_kind: dict[str, list[Job]] = {}
    for job in jobs:
        by_kind.setdefault(job.kind, []).append(job)
    for name, group in by_kind.items():
        kind = _kinds.get(name)
        if kind is not None and kind.batch_handler is not None and len(group) > 1 and _execute_batch(kind, group):
            continue
        for job in group:
            if _lease_mostly_spent(job, kind):
                _give_back(job)
            else:
                execute(job)


def _lease_mostly_spent(job: Job, kind: WorkKind | None) -> bool:
    """A row that waited its turn behind slow ones (sends to a provider that takes its time) until half
    its lease has gone: another runner may take it soon, so this one does not start it."""
    if job.locked_until is None:
        return False
    lease = (kind.lease_seconds if kind is not None else None) or settings.INSTANT_WORK_LEASE_SECONDS
    return timezone.now() >= job.locked_until - timedelta(seconds=lease / 2)


def _give_back(job: Job) -> None:
    """Unclaim a row not started: due at once, its attempt not counted."""
    Job.objects.filter(pk=job.pk, claim=job.claim).update(
        state=Job.State.PENDING, locked_until=None, claim="", attempts=F("attempts") - 1
    )


def run_due(
    *, now: datetime | None = None, keys: list[str] | None = None, limit: int = 20, once: bool = False
) -> int:
    """Claim and run due jobs in this thread, batch after batch, until none is left; returns how many ran.

    With ``keys``, only those jobs, once (a wake-up for work just stored); with ``once``, one claim of
    up to ``limit`` due jobs, oldest first. Claimed rows of a kind with a batch handler run together
    (``_execute_batch``), the others one by one.
    """
    ran = 0
    while True:
        jobs = claim_due(now=now, keys=keys, limit=limit)
        if not jobs:
            return ran
        _run_claimed(jobs)
        ran += len(jobs)
        if keys is not None or once:
            return ran


def release_orphans() -> int:
    """Give back rows a dead runner held. Only for a process that is the only runner (the embedded worker)."""
    return Job.objects.filter(state=Job.State.RUNNING).update(state=Job.State.PENDING, locked_until=None, claim="")


def retry_failed(job_ids: list[int]) -> int:
    """The admin's retry: failed rows go back to pending, due now, with fresh attempts."""
    now = timezone.now()
    with transaction.atomic():
        failed = list(Job.objects.select_for_update().filter(pk__in=job_ids, state=Job.State.FAILED))
        keys = [job.key for job in failed]
        count = Job.objects.filter(key__in=keys, state=Job.State.FAILED).update(
            state=Job.State.PENDING, attempts=0, next_attempt_at=now, finished_at=None
        )
        for job in failed:
            kind = _kinds.get(job.kind)
            if kind is not None and kind.on_retry is not None:
                kind.on_retry(dict(job.args))
        if keys:
            transaction.on_commit(lambda: _wake(keys))
    return count


# ----- periodic sweepers ---------------------------------------------------------------------------
_sweepers: dict[str, Callable[..., int]] = {}


def register_sweeper(name: str, fn: Callable[..., int]) -> None:
    """A deadline sweeper ``fn(now=...) -> count`` (offers, transfers, windows), from ``AppConfig.ready()``."""
    _sweepers[name] = fn


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Act on every stored deadline that has passed, then run whatever work is due."""
    now = now or timezone.now()
    done = {}
    for name, fn in _sweepers.items():
        try:
            done[name] = fn(now=now)
        except Exception:  # one broken sweeper must not stop the others; the next sweep tries again
            log.exception("sweeper %s failed", name)
            done[name] = 0
    if any(done.values()):
        log.info("deadline sweep: %s", done)
    return done
