"""Storing and processing provider webhooks."""
from __future__ import annotations

import logging
import traceback
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core.tasks import enqueue

from .base import CaseInsensitiveDict, WebhookRequest
from .models import WebhookEvent
from .types import InboundMessage, PayloadError, StatusUpdate, TemplateStatus

log = logging.getLogger(__name__)

# A status can beat the send task to the database (the provider answers the send, then calls the
# webhook before we have stored the id). Such an event is retried for a while before it is ignored.
UNKNOWN_MESSAGE_GRACE = timedelta(minutes=2)
UNKNOWN_MESSAGE_RETRY_SECONDS = 3


def webhook_event_store(*, account: WhatsAppAccount, request: WebhookRequest, event_key: str) -> tuple[WebhookEvent, bool]:
    """Store a verified webhook once; a redelivery only counts as a duplicate."""
    from .tasks import process_webhook_event

    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    account=account,
                    provider=account.provider,
                    event_key=event_key,
                    method=request.method,
                    headers=dict(request.headers),
                    query=[list(p) for p in request.query],
                    body=request.body,
                )
        except IntegrityError:
            WebhookEvent.objects.filter(account=account, event_key=event_key).update(duplicates=F("duplicates") + 1)
            return WebhookEvent.objects.get(account=account, event_key=event_key), False
        enqueue(process_webhook_event, event.pk)
        return event, True


def stored_request(event: WebhookEvent) -> WebhookRequest:
    from urllib.parse import parse_qsl, urlencode

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
    """Parse a stored webhook and apply what it says; safe to run again (admin "reprocess")."""
    from apps.interactions.services import UnknownMessage, inbound_message_receive, message_status_apply
    from apps.templates.services import template_status_apply

    event = WebhookEvent.objects.select_related("account").get(pk=event_id)
    account = event.account
    backend = account.backend()
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
    try:
        items = backend.parse(stored_request(event))
    except PayloadError as exc:
        return _finish(event, WebhookEvent.Status.FAILED, f"Cannot parse the payload: {exc}")
    errors: list[str] = []
    unknown = False
    for item in items:
        try:
            if isinstance(item, InboundMessage):
                inbound_message_receive(account=account, inbound=item)
            elif isinstance(item, StatusUpdate):
                message_status_apply(account=account, update=item)
            elif isinstance(item, TemplateStatus):
                template_status_apply(account=account, update=item)
        except UnknownMessage as exc:
            unknown = True
            errors.append(exc.detail)
        except Exception as exc:  # keep the event for the admin, with what went wrong
            log.exception("webhook event %s: item failed", event.pk)
            errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    if unknown and len(errors) == 1 and timezone.now() - event.received_at < UNKNOWN_MESSAGE_GRACE:
        from .tasks import process_webhook_event

        with transaction.atomic():
            _finish(event, WebhookEvent.Status.PENDING, errors[0])
            enqueue(process_webhook_event, event.pk, countdown=UNKNOWN_MESSAGE_RETRY_SECONDS)
        return event
    if errors:
        status = WebhookEvent.Status.IGNORED if unknown and len(errors) == 1 else WebhookEvent.Status.FAILED
        return _finish(event, status, "\n".join(errors))
    status = WebhookEvent.Status.PROCESSED if items else WebhookEvent.Status.IGNORED
    return _finish(event, status, "" if items else "Nothing in this event concerns Instant.")


def _finish(event: WebhookEvent, status: str, error: str) -> WebhookEvent:
    WebhookEvent.objects.filter(pk=event.pk).update(status=status, error=error, processed_at=timezone.now())
    event.refresh_from_db()
    return event
