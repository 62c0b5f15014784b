"""The Sandbox's "WhatsApp cloud": the simulated customer's phone and the webhooks it sends.

The customer simulator calls these services; they post signed webhooks over real HTTP to the
account's webhook URL, exactly as a provider would, and retry when the webhook fails.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core.realtime import publish, sandbox_group
from apps.core.tasks import enqueue

from . import sandbox
from .models import SandboxMessage
from .types import ProviderError, kind_for_content_type

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
MAX_WEBHOOK_ATTEMPTS = 6
_STATUS_ORDER = {"sent": 0, "delivered": 1, "read": 2}


def sandbox_message_json(message: SandboxMessage) -> dict:
    media_url = message.media_url
    if message.media:
        media_url = media_public_url(message)
    return {
        "id": message.message_id,
        "direction": message.direction,
        "customer_phone": message.customer_phone,
        "kind": message.kind,
        "text": message.text,
        "media_url": media_url,
        "content_type": message.content_type,
        "filename": message.filename,
        "status": message.status,
        "created_at": message.created_at.isoformat(),
    }


def media_public_url(message: SandboxMessage) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("sandbox-media", kwargs={"token": message.media_token})


def customer_send(
    *, account: WhatsAppAccount, phone: str, name: str = "", text: str = "", upload: UploadedFile | None = None
) -> SandboxMessage:
    """The simulated customer writes: keep it on the phone and post the webhook."""
    from apps.core.phones import normalize_phone

    if account.provider != WhatsAppAccount.Provider.SANDBOX:
        raise ValueError("Only Sandbox accounts have a simulator.")
    phone = normalize_phone(phone)
    if not text.strip() and upload is None:
        raise ValueError("Write something or attach a file.")
    with transaction.atomic():
        message = SandboxMessage(
            account=account,
            customer_phone=phone,
            customer_name=name[:120],
            direction=SandboxMessage.Direction.FROM_CUSTOMER,
            text=text,
            kind="text",
        )
        if upload is not None:
            message.content_type = upload.content_type or "application/octet-stream"
            message.filename = upload.name
            message.kind = kind_for_content_type(message.content_type).value
            message.media.save(upload.name, upload, save=False)
        message.save()
        publish({"type": "sandbox.message", "data": sandbox_message_json(message)}, groups=[sandbox_group(account.pk)])
        enqueue(post_message_webhook, message.pk)
    return message


def customer_ack(*, account: WhatsAppAccount, message_id: str, status: str) -> SandboxMessage:
    """The simulated phone received or read an agent's message: tell Instant, as providers do."""
    if status not in ("delivered", "read"):
        raise ValueError("status must be delivered or read")
    with transaction.atomic():
        message = SandboxMessage.objects.select_for_update().get(
            account=account, message_id=message_id, direction=SandboxMessage.Direction.TO_CUSTOMER
        )
        if _STATUS_ORDER[status] <= _STATUS_ORDER.get(message.status, 0):
            return message
        message.status = status
        message.save(update_fields=["status"])
        publish(
            {"type": "sandbox.status", "data": {"id": message.message_id, "status": status}},
            groups=[sandbox_group(account.pk)],
        )
        enqueue(post_status_webhook, message.pk, status)
    return message


def deliver_to_customer(*, account_id: int, payload: dict) -> str:
    """An agent's message reaches the simulated phone (the Sandbox backend's send)."""
    phone = payload["to"]
    kind = payload.get("type", "text")
    if kind != "template":
        last = (
            SandboxMessage.objects.filter(
                account_id=account_id, customer_phone=phone, direction=SandboxMessage.Direction.FROM_CUSTOMER
            )
            .order_by("-created_at")
            .first()
        )
        # WhatsApp's rule, simulated: free text only within 24 h of the customer's last message.
        # A number the cloud has never seen write (tests that post webhooks directly) is let through.
        if last is not None and timezone.now() - last.created_at > WINDOW:
            raise ProviderError(
                "window_closed",
                "Outside the 24-hour customer service window: send a template.",
                permanent=True,
                window_closed=True,
            )
    media = payload.get("media") or {}
    text = payload.get("text", "")
    if kind == "template":
        from apps.templates.models import Template

        tpl = payload["template"]
        template = Template.objects.filter(account_id=account_id, name=tpl["name"], language=tpl["language"]).first()
        text = template.render(tpl.get("params") or []) if template else f"[template {tpl['name']}]"
    with transaction.atomic():
        message = SandboxMessage.objects.create(
            account_id=account_id,
            customer_phone=phone,
            direction=SandboxMessage.Direction.TO_CUSTOMER,
            kind=kind,
            text=text,
            media_url=media.get("url", ""),
            content_type=media.get("content_type", ""),
            filename=media.get("filename", ""),
        )
        publish({"type": "sandbox.message", "data": sandbox_message_json(message)}, groups=[sandbox_group(account_id)])
    return message.message_id


# ----- webhooks to Instant ------------------------------------------------------------------------
def _post(account: WhatsAppAccount, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(account.webhook_url, body)}
    with httpx.Client(transport=sandbox.TRANSPORT, timeout=15.0) as http:
        response = http.post(account.webhook_url, content=body, headers=headers)
    if response.status_code >= 300:
        raise ProviderError(str(response.status_code), response.text[:200], permanent=response.status_code < 500)


def _with_retry(message: SandboxMessage, task, *args) -> None:
    account = message.account
    try:
        _post(account, _payload_for(message, *args))
    except (httpx.HTTPError, ProviderError) as exc:
        attempts = message.webhook_attempts + 1
        SandboxMessage.objects.filter(pk=message.pk).update(webhook_attempts=attempts)
        if attempts < MAX_WEBHOOK_ATTEMPTS:
            log.warning("sandbox webhook failed (%s); retrying", exc)
            with transaction.atomic():
                enqueue(task, message.pk, *args, countdown=2**attempts)
        else:
            log.error("sandbox webhook gave up after %s attempts: %s", attempts, exc)


def _payload_for(message: SandboxMessage, status: str | None = None) -> dict:
    if status is not None:
        return {
            "event": "status",
            "status": {"id": message.message_id, "status": status, "timestamp": timezone.now().isoformat()},
        }
    media = None
    if message.media:
        media = {"url": media_public_url(message), "content_type": message.content_type, "filename": message.filename}
    return {
        "event": "message",
        "message": {
            "id": message.message_id,
            "from": message.customer_phone,
            "name": message.customer_name,
            "timestamp": message.created_at.isoformat(),
            "type": message.kind,
            "text": message.text,
            "media": media,
        },
    }


from celery import shared_task  # noqa: E402


@shared_task(name="sandbox.post_message_webhook", ignore_result=True)
def post_message_webhook(sandbox_message_id: int) -> None:
    message = SandboxMessage.objects.select_related("account").get(pk=sandbox_message_id)
    _with_retry(message, post_message_webhook)


@shared_task(name="sandbox.post_status_webhook", ignore_result=True)
def post_status_webhook(sandbox_message_id: int, status: str) -> None:
    message = SandboxMessage.objects.select_related("account").get(pk=sandbox_message_id)
    _with_retry(message, post_status_webhook, status)
