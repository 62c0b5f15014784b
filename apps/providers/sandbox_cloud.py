"""The Sandbox's "WhatsApp cloud": the simulated customer's phone and the webhooks it sends.

The customer simulator calls these services; they post signed webhooks over real HTTP to the
account's webhook URL, exactly as a provider would. Each post is durable work (``sandbox.post``),
retried with backoff until Instant answers. Agents' messages reach the phone through the cloud's
own HTTP endpoint (``cloud_views``), which the Sandbox backend calls like any provider's API.
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
from apps.core import work
from apps.core.audience import publish_event
from apps.core.phones import normalize_phone

from . import sandbox
from .models import SandboxMessage
from .types import ProviderError, kind_for_content_type

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
POST_WORK = "sandbox.post"
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
        publish_event({"type": "sandbox.message", "data": sandbox_message_json(message)}, account_id=account.pk)
        _post_later(message)
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
        publish_event({"type": "sandbox.status", "data": {"id": message.message_id, "status": status}}, account_id=account.pk)
        _post_later(message, status)
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
        tpl = payload.get("template") or {}
        text = tpl.get("text") or f"[template {tpl.get('name', '')}]"
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
        publish_event({"type": "sandbox.message", "data": sandbox_message_json(message)}, account_id=account_id)
    return message.message_id


# ----- webhooks to Instant ------------------------------------------------------------------------
def _post(account: WhatsAppAccount, payload: dict) -> None:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(account.webhook_url, body)}
    try:
        with httpx.Client(transport=sandbox.TRANSPORT, timeout=15.0) as http:
            response = http.post(account.webhook_url, content=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise ProviderError.timeout(f"Instant did not answer the Sandbox webhook in time: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ProviderError.network(f"Cannot reach Instant's webhook: {exc}") from exc
    if response.status_code >= 300:
        raise ProviderError.from_http(response.status_code, message=response.text[:200])


def _post_later(message: SandboxMessage, status: str | None = None) -> None:
    key = f"sandbox:{message.pk}:{status or 'message'}"
    work.enqueue(POST_WORK, key=key, args={"sandbox_message_id": message.pk, "status": status})


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


def post_work(args: dict) -> None:
    """Post one webhook of the simulated phone; any failure is raised for the runner to retry."""
    message = SandboxMessage.objects.select_related("account").get(pk=args["sandbox_message_id"])
    _post(message.account, _payload_for(message, args.get("status")))
