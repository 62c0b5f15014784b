"""The Sandbox provider: a real backend whose "WhatsApp cloud" lives inside Instant.

Webhooks are JSON, signed like Meta's: ``X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the raw
body>``, keyed by a secret derived from SECRET_KEY and the account's webhook path, so only this
installation's simulator can sign them. Sends go to the in-app cloud (``sandbox_cloud``), which
the customer simulator shows; with ``api_base_url`` set they go over HTTP to
``{api_base_url}/v1/messages`` instead, like any other provider.

Payloads::

    {"event": "message", "message": {"id", "from", "name", "timestamp" (ISO-8601), "type",
      "text", "media": {"url", "content_type", "filename"}, "location": {...}}}
    {"event": "status", "status": {"id", "status": "sent|delivered|read|failed", "timestamp",
      "error": {"code", "message"}}}
"""
from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.crypto import salted_hmac

from .base import ProviderBackend, WebhookRequest, constant_time_equals, inbound_phone, iso_to_datetime, outbound_phone
from .types import (
    DeliveryStatus,
    FetchedMedia,
    InboundMessage,
    MediaRef,
    MessageKind,
    OutboundMedia,
    ParsedEvent,
    PayloadError,
    ProviderError,
    SendResult,
    SignatureError,
    StatusUpdate,
    TemplateMessage,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
# Tests replace this with an in-process transport so "HTTP to ourselves" needs no server.
TRANSPORT: httpx.BaseTransport | None = None

_KINDS = {k.value for k in MessageKind} - {MessageKind.TEMPLATE.value}
_STATUSES = {s.value: s for s in DeliveryStatus}


def signing_key(webhook_url: str) -> bytes:
    path = urlsplit(webhook_url).path
    return salted_hmac("instant.sandbox.webhook", path).hexdigest().encode()


def sign(webhook_url: str, body: bytes) -> str:
    return "sha256=" + hmac.new(signing_key(webhook_url), body, hashlib.sha256).hexdigest()


class SandboxBackend(ProviderBackend):
    provider = "sandbox"
    label = "Sandbox"
    supports_templates = True
    supports_campaigns = True
    window_error_codes = frozenset({"window_closed"})

    def __init__(self, account, *, transport=None, now=None) -> None:
        # TRANSPORT stands in for this server (tests); a fake provider at api_base_url is real HTTP.
        own_cloud = TRANSPORT if not account.api_base_url else None
        super().__init__(account, transport=transport or own_cloud, now=now)

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER) or ""
        if not given:
            raise SignatureError("missing X-Sandbox-Signature")
        if not constant_time_equals(given, sign(self.account.webhook_url, request.body)):
            raise SignatureError("bad X-Sandbox-Signature")

    def event_id(self, request: WebhookRequest) -> str:
        try:
            data = json.loads(request.body)
            if data.get("event") == "message":
                return f"msg:{data['message']['id']}"
            if data.get("event") == "status":
                return f"status:{data['status']['id']}:{data['status']['status']}"
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        return super().event_id(request)

    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        try:
            data = json.loads(request.body)
            event = data["event"]
            if event == "message":
                return [self._message(data["message"])]
            if event == "status":
                return [self._status(data["status"])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PayloadError(f"not a Sandbox event: {exc}") from exc
        return []

    def _message(self, m: dict) -> InboundMessage:
        kind = m.get("type") or "text"
        if kind not in _KINDS:
            kind = MessageKind.UNSUPPORTED.value
        media = m.get("media") or None
        return InboundMessage(
            provider_message_id=str(m["id"]),
            customer_phone=inbound_phone(m["from"]),
            customer_name=str(m.get("name") or ""),
            timestamp=iso_to_datetime(m["timestamp"]) if m.get("timestamp") else self._now(),
            kind=MessageKind(kind),
            text=str(m.get("text") or ""),
            media=MediaRef(
                url=media.get("url", ""), content_type=media.get("content_type", ""), filename=media.get("filename", "")
            )
            if media
            else None,
            location=m.get("location"),
            raw_type=str(m.get("type") or ""),
        )

    def _status(self, s: dict) -> StatusUpdate:
        status = _STATUSES[s["status"]]
        error = s.get("error") or {}
        return StatusUpdate(
            provider_message_id=str(s["id"]),
            status=status,
            timestamp=iso_to_datetime(s["timestamp"]) if s.get("timestamp") else self._now(),
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("message") or ""),
        )

    # ----- sending --------------------------------------------------------------------------
    @property
    def default_base_url(self) -> str:  # type: ignore[override]
        # The in-app cloud is reached over HTTP like any provider, at a path under the account's
        # unguessable webhook token: the backend stores nothing itself (the cloud's view does).
        token = urlsplit(self.account.webhook_url).path.rstrip("/").rsplit("/", 1)[-1]
        return f"{settings.PUBLIC_BASE_URL}/simulator/cloud/{token}"

    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        try:
            error = response.json()["error"]
            return str(error.get("code") or ""), str(error.get("message") or "")
        except (ValueError, KeyError, TypeError, AttributeError):
            return super().describe_error(response)

    def _send(self, payload: dict) -> SendResult:
        body = json.dumps({**payload, "to": outbound_phone(payload["to"])}).encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.account.webhook_url, body)}
        response = self.request("POST", f"{self.base_url}/v1/messages", content=body, headers=headers)
        data = self.response_json(response, sent=True)
        try:
            return SendResult(provider_message_id=str(data["id"]))
        except (KeyError, TypeError) as exc:
            raise self.invalid_response(response, "without a message id", sent=True) from exc

    def send_text(self, *, to: str, text: str) -> SendResult:
        return self._send({"to": to, "type": "text", "text": text})

    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult:
        return self._send(
            {
                "to": to,
                "type": media.kind.value,
                "text": caption,
                "media": {"url": media.url, "content_type": media.content_type, "filename": media.filename},
            }
        )

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        return self._send(
            {
                "to": to,
                "type": "template",
                "template": {
                    "name": template.name,
                    "language": template.language,
                    "params": template.body_params,
                    "text": template.rendered_text,
                },
            }
        )

    def fetch_media(self, media: MediaRef) -> FetchedMedia:
        fetched = self.download(media.url, fallback_type=media.content_type)
        return FetchedMedia(content=fetched.content, content_type=fetched.content_type, filename=media.filename)
