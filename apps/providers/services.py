"""Storing and processing provider webhooks.

The view stores each verified event once and answers; processing is durable work
(``providers.webhook``), so an event acknowledged to the provider is processed even if the
process dies right after the 200. The apps that act on parsed items (interactions, templates)
register their handlers here from their AppConfig.ready().
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core import work

from .base import CaseInsensitiveDict, WebhookRequest
from .models import WebhookEvent
from .types import ParsedEvent, PayloadError

log = logging.getLogger(__name__)

WEBHOOK_WORK = "providers.webhook"
WEBHOOK_KEY_PREFIX = "webhook:"
# A status can beat the send to the database (the provider answers the send, then calls the
# webhook before we have stored the id). Such an event is retried for a while before it is ignored.
UNKNOWN_MESSAGE_GRACE = timedelta(minutes=2)
UNKNOWN_MESSAGE_RETRY_SECONDS = 3


class RetryLater(Exception):
    """An item that cannot be applied yet (its message is not stored yet): try the event again soon."""

    retry_after = UNKNOWN_MESSAGE_RETRY_SECONDS
    permanent = False


class ItemsFailed(Exception):
    """Some items of an event raised: the event is retried whole (applying an item is idempotent)."""


_handlers: dict[type, Callable[[WhatsAppAccount, ParsedEvent], object]] = {}
_batch_handlers: dict[type, Callable[[WhatsAppAccount, list], object]] = {}


def handle(item_type: type, handler: Callable[[WhatsAppAccount, ParsedEvent], object]) -> None:
    """Who applies parsed items of ``item_type`` (``InboundMessage``, ``StatusUpdate``, ``TemplateStatus``)."""
    _handlers[item_type] = handler


def handle_many(item_type: type, handler: Callable[[WhatsAppAccount, list], object]) -> None:
    """Who applies several items of ``item_type`` of one account at once, in the caller's transaction
    (a batch of webhook events, ``webhook_events_process``); ``handle``'s handler does the rest."""
    _batch_handlers[item_type] = handler


def webhook_event_store(*, account: WhatsAppAccount, request: WebhookRequest, event_key: str) -> tuple[int, bool]:
    """Store a verified webhook once, with the work that processes it; a redelivery only counts as a duplicate.

    Returns the event's id and whether it is new. This is the whole cost of an acknowledgement (issue
    11: "verify, one insert, wake the runner"). On PostgreSQL it is one statement: the INSERT of the
    event (a redelivery turns it into the duplicate count) and the INSERT of its work row, in autocommit
    (a statement is its own transaction). Elsewhere, the same two INSERTs and a COMMIT. The runner is
    woken after the commit.
    """
    event = WebhookEvent(
        account=account,
        provider=account.provider,
        event_key=event_key,
        method=request.method,
        headers=dict(request.headers),
        query=[list(p) for p in request.query],
        body=request.body,
    )
    insert, params = _insert_once_sql(event)
    if connection.vendor == "postgresql":
        stored = f"stored_{WebhookEvent._meta.db_table}"
        job_insert, job_params = work.insert_per_row_sql(
            WEBHOOK_WORK, source=stored, id_column=f"{stored}.id", key_prefix=WEBHOOK_KEY_PREFIX, arg="event_id",
            where=f"{stored}.duplicates = 0",
        )
        sql = f"WITH {stored} AS ({insert}), job AS ({job_insert}) SELECT id, duplicates FROM {stored}"
        event_id, created = _stored(sql, params + job_params)
        if created:
            work.wake_after_commit([_work_key(event_id)])
        return event_id, created
    with transaction.atomic():
        event_id, created = _stored(insert, params)
        if created:
            work.enqueue(WEBHOOK_WORK, key=_work_key(event_id), args={"event_id": event_id})
    return event_id, created


def _stored(sql: str, params: list) -> tuple[int, bool]:
    """Run a statement returning the event's ``(id, duplicates)``; a new event has no duplicates."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        event_id, duplicate_count = cursor.fetchone()
    return event_id, duplicate_count == 0


def _work_key(event_id: int) -> str:
    return f"{WEBHOOK_KEY_PREFIX}{event_id}"


def _insert_once_sql(event: WebhookEvent) -> tuple[str, list]:
    """``INSERT ... ON CONFLICT (account, event_key) DO UPDATE SET duplicates = duplicates + 1 RETURNING``.

    Written out because the ORM has no such statement: ``create()`` needs a savepoint to survive the
    IntegrityError of a redelivery (and then an UPDATE and a SELECT), and ``bulk_create`` can neither
    increment on conflict nor say which row was new. A new row has ``duplicates = 0``, an existing one
    at least 1 after the update. PostgreSQL and SQLite (3.35+) both have upserts with RETURNING; values
    are prepared by each field, as the ORM's own INSERT does.
    """
    meta = WebhookEvent._meta
    qn = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    table = qn(meta.db_table)
    duplicates = qn(meta.get_field("duplicates").column)
    conflict = ", ".join(qn(meta.get_field(name).column) for name in ("account", "event_key"))
    sql = (
        f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {duplicates} = {table}.{duplicates} + 1 "
        f"RETURNING {qn(meta.pk.column)} AS id, {duplicates} AS duplicates"
    )
    return sql, params


def webhook_event_reprocess(*, event_ids: list[int]) -> int:
    """The admin's "reprocess": the events are processed again by the runner (safe: items apply once)."""
    with transaction.atomic():
        count = 0
        for event_id in event_ids:
            WebhookEvent.objects.filter(pk=event_id).update(status=WebhookEvent.Status.PENDING, error="")
            work.enqueue(WEBHOOK_WORK, key=_work_key(event_id), args={"event_id": event_id}, reset=True)
            count += 1
    return count


def stored_request(event: WebhookEvent) -> WebhookRequest:
    account = event.account
    headers = CaseInsensitiveDict(event.headers)
    body = bytes(event.body)
    query = [tuple(p) for p in event.query]
    url = account.webhook_url + (("?" + urlencode(query)) if query else "")
    request = WebhookRequest(method=event.method, url=url, headers=headers, body=body, query=query)
    if request.content_type == "application/x-www-form-urlencoded":
        request.form = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return request


def webhook_event_process(*, event_id: int) -> WebhookEvent:
    """Parse a stored webhook and apply what it says; safe to run again.

    A payload that cannot be parsed fails at once (retrying cannot help). An item that raises makes
    the whole event raise, for the runner to retry with backoff: items already applied are stored
    once, so a retry only completes what is missing.
    """
    # The account with what processing reads of it (its queue, the entry point's contact lists).
    event = WebhookEvent.objects.select_related(
        "account__queue__contact_list", "account__contact_list"
    ).get(pk=event_id)
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return event
    account = event.account
    try:
        items = account.backend().parse(stored_request(event))
    except PayloadError as exc:
        return _finish(event, WebhookEvent.Status.FAILED, f"Cannot parse the payload: {exc}")
    errors: list[str] = []
    unknown: list[str] = []
    for item in items:
        handler = _handlers.get(type(item))
        if handler is None:
            continue
        try:
            handler(account, item)
        except RetryLater as exc:
            unknown.append(str(exc))
        except Exception as exc:
            log.exception("webhook event %s: an item failed", event.pk)
            errors.append(f"{type(exc).__name__}: {exc}")
    if errors:
        _note(event, "\n".join(errors + unknown))
        raise ItemsFailed("; ".join(errors))
    if unknown:
        if timezone.now() - event.received_at < UNKNOWN_MESSAGE_GRACE:
            _note(event, unknown[0])
            raise RetryLater(unknown[0])
        return _finish(event, WebhookEvent.Status.IGNORED, "\n".join(unknown))
    return _finish(event, *_outcome(items))


def _outcome(items: list) -> tuple[str, str]:
    """An event's status and error once its items are applied: none concerned Instant, or some did."""
    if not items:
        return WebhookEvent.Status.IGNORED, "Nothing in this event concerns Instant."
    return WebhookEvent.Status.PROCESSED, ""


def _note(event: WebhookEvent, error: str) -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(error=error, attempts=F("attempts") + 1)


def _finish(event: WebhookEvent, status: str, error: str) -> WebhookEvent:
    now = timezone.now()
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status, error=error, processed_at=now, attempts=F("attempts") + 1
    )
    event.status, event.error, event.processed_at = status, error, now
    return event


class NotBatchable(Exception):
    """An event a batch leaves to the one-by-one path (a payload that does not parse, a late status)."""


def webhook_events_process(*, event_ids: list[int]) -> None:
    """Process several stored webhooks in the caller's transaction: the runner's batch (issue 11).

    The same outcome as ``webhook_event_process`` for each event, for fewer queries: the events are
    read in one query, items of a kind with a ``handle_many`` handler are applied together per account,
    and the events are marked in at most two UPDATEs. Anything out of the ordinary (a payload that does
    not parse, an item that raises, a status whose message is not stored yet) raises, and the runner
    runs each event on its own through ``webhook_event_process``, which records it.
    """
    events = list(
        WebhookEvent.objects.select_related("account__queue__contact_list", "account__contact_list")
        .filter(pk__in=event_ids)
        .order_by("pk")
    )
    events = [e for e in events if e.status not in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)]
    accounts: dict[int, WhatsAppAccount] = {}
    backends: dict[int, object] = {}
    grouped: dict[tuple[int, type], list] = {}
    singles: list[tuple[WhatsAppAccount, ParsedEvent]] = []
    outcomes: dict[tuple[str, str], list[int]] = {}
    for event in events:
        # One account object and one backend per account: building a backend reverses its URL.
        account = accounts.setdefault(event.account_id, event.account)
        backend = backends.get(account.pk) or backends.setdefault(account.pk, account.backend())
        event.account = account
        try:
            items = backend.parse(stored_request(event))
        except PayloadError as exc:
            raise NotBatchable(f"event {event.pk} does not parse") from exc
        for item in items:
            if type(item) in _batch_handlers:
                grouped.setdefault((account.pk, type(item)), []).append(item)
            elif type(item) in _handlers:
                singles.append((account, item))
        outcomes.setdefault(_outcome(items), []).append(event.pk)
    for (account_id, item_type), items in grouped.items():
        _batch_handlers[item_type](accounts[account_id], items)
    for account, item in singles:
        _handlers[type(item)](account, item)  # RetryLater included: the event is retried on its own
    now = timezone.now()
    for (status, error), ids in outcomes.items():
        WebhookEvent.objects.filter(pk__in=ids).update(
            status=status, error=error, processed_at=now, attempts=F("attempts") + 1
        )


def webhook_work(args: dict) -> None:
    webhook_event_process(event_id=args["event_id"])


def webhook_batch_work(args_list: list[dict]) -> None:
    webhook_events_process(event_ids=[args["event_id"] for args in args_list])


def webhook_work_failed(args: dict, exc: BaseException) -> None:
    """Out of attempts: the event shows as failed in the admin, where it can be reprocessed."""
    WebhookEvent.objects.filter(pk=args["event_id"]).update(
        status=WebhookEvent.Status.FAILED, error=f"Gave up: {exc}", processed_at=timezone.now()
    )


def webhook_work_retry(args: dict) -> None:
    WebhookEvent.objects.filter(pk=args["event_id"], status=WebhookEvent.Status.FAILED).update(
        status=WebhookEvent.Status.PENDING, error=""
    )


def register_work() -> None:
    work.register(
        WEBHOOK_WORK,
        webhook_work,
        max_attempts=settings.INSTANT_WEBHOOK_MAX_ATTEMPTS,
        on_failure=webhook_work_failed,
        on_retry=webhook_work_retry,
        batch_handler=webhook_batch_work,
    )
