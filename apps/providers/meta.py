"""Meta WhatsApp Cloud API backend (PROTOCOLS.md §1).

The module-level functions parse one Meta *change value* and build Meta message objects. Kaleyra v2
wraps exactly these objects (PROTOCOLS.md §4a/§4d), so ``kaleyra.py`` imports them instead of
keeping a second copy.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import httpx

from apps.core.phones import normalize_phone_or_blank

from .base import (
    CredentialField,
    ProviderBackend,
    WebhookReply,
    WebhookRequest,
    constant_time_equals,
    inbound_phone,
    is_user_id,
    outbound_digits,
    unix_to_datetime,
)
from .types import (
    DeliveryStatus,
    ErrorCode,
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
    SubmittedTemplate,
    TemplateDraft,
    TemplateMessage,
    TemplateStatus,
)

# Graph versions live about two years; v23.0 (May 2025) is well inside its support window.
DEFAULT_GRAPH_VERSION = "v23.0"

# 131047: more than 24 h since the customer's last message (PROTOCOLS.md §1d).
WINDOW_ERROR_CODES = frozenset({"131047"})
# Throughput/pair rate limits, Meta's generic "try again" error and the app-level throttles are
# worth retrying even when Meta answers them with HTTP 400 (PROTOCOLS.md §1d).
RETRYABLE_ERROR_CODES = frozenset({"130429", "131056", "131000", "4", "80007"})

STATUS_NAMES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    # Kaleyra's own state: it never handed the message to Meta (PROTOCOLS.md §4b).
    "not-sent": DeliveryStatus.FAILED,
    "not_sent": DeliveryStatus.FAILED,
}

TEMPLATE_EVENTS: dict[str, str] = {
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "PAUSED": "paused",
    "DISABLED": "disabled",
    "PENDING": "pending",
    "IN_APPEAL": "pending",
}

MEDIA_TYPES: dict[str, MessageKind] = {
    "image": MessageKind.IMAGE,
    "audio": MessageKind.AUDIO,
    "video": MessageKind.VIDEO,
    "document": MessageKind.DOCUMENT,
    "sticker": MessageKind.STICKER,
}

_TRAILING_COMMA = re.compile(r",(\s*[}\]])")

Clock = Callable[[], datetime]


# ----- JSON --------------------------------------------------------------------------------------
def load_json(body: bytes, *, tolerate_trailing_commas: bool = False) -> Any:
    """Decode a webhook body or raise ``PayloadError``.

    Kaleyra's published status sample has a trailing comma (PROTOCOLS.md §4b); the retry only strips
    commas that directly precede ``}``/``]``, so a strict body is never altered.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"Body is not UTF-8: {exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        if tolerate_trailing_commas:
            try:
                return json.loads(_TRAILING_COMMA.sub(r"\1", text))
            except ValueError:
                pass
        raise PayloadError(f"Body is not valid JSON: {exc}") from exc


def _dict(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be an object.")
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{what} must be a list.")
    return value


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def meta_timestamp(value: Any, now: Clock) -> datetime:
    """Meta sends unix seconds as a string; a missing or odd value falls back to receipt time."""
    try:
        return unix_to_datetime(value) if _str(value).strip() else now()
    except (TypeError, ValueError, OverflowError, OSError):
        return now()


# ----- inbound parsing ---------------------------------------------------------------------------
def _contact_name(contacts: list, phone: str, user_id: str) -> str:
    fallback = ""
    for contact in contacts:
        if not isinstance(contact, dict):
            continue
        name = _str(_dict(contact.get("profile"), "contacts[].profile").get("name"))
        wa_phone = normalize_phone_or_blank(_str(contact.get("wa_id")), international=True)
        contact_user = _str(contact.get("user_id"))
        if (phone and wa_phone == phone) or (user_id and contact_user == user_id):
            return name
        if len(contacts) == 1:
            fallback = name
    return fallback


def _unsupported_text(message_type: str, message: dict) -> tuple[str, str]:
    """A readable text (and the answered message id) for types we do not model, so nothing is lost."""
    raw = message.get(message_type)
    body = raw if isinstance(raw, dict) else {}
    if message_type == "interactive":
        for key in ("button_reply", "list_reply"):
            reply = body.get(key)
            if isinstance(reply, dict):
                return _str(reply.get("title")), ""
        nfm = body.get("nfm_reply")
        if isinstance(nfm, dict):
            return _str(nfm.get("body") or nfm.get("name")), ""
        return "", ""
    if message_type == "button":
        return _str(body.get("text") or body.get("payload")), ""
    if message_type == "reaction":
        return _str(body.get("emoji")), _str(body.get("message_id"))
    if message_type == "system":
        return _str(body.get("body")), ""
    if message_type == "order":
        items = body.get("product_items")
        count = len(items) if isinstance(items, list) else 0
        return _str(body.get("text")) or f"Order with {count} item(s)", ""
    if message_type == "contacts":
        cards = message.get("contacts")
        lines = []
        for card in cards if isinstance(cards, list) else []:
            if not isinstance(card, dict):
                continue
            name = _str(_dict(card.get("name"), "contacts[].name").get("formatted_name"))
            phones = [
                _str(p.get("phone") or p.get("wa_id")) for p in card.get("phones") or [] if isinstance(p, dict)
            ]
            lines.append(" ".join(part for part in [name, ", ".join(filter(None, phones))] if part))
        return "\n".join(filter(None, lines)), ""
    if message_type == "unsupported" or not body:
        errors = message.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            details = _dict(first.get("error_data"), "errors[].error_data").get("details")
            return _str(details or first.get("message") or first.get("title")), ""
    return "", ""


def parse_meta_message(
    message: dict, *, contacts: list, now: Clock, media_url: str = ""
) -> InboundMessage:
    """One ``value.messages[]`` entry. ``media_url`` is Kaleyra's copy of the attachment (§4a)."""
    message = _dict(message, "messages[]")
    message_id = _str(message.get("id"))
    if not message_id:
        raise PayloadError("A message has no id.")
    sender = _str(message.get("from")).strip()
    user_id = _str(message.get("from_user_id"))
    # BSUID rollout (§1a): `from` may be "" and the business-scoped user id the only handle we get.
    if not sender and not user_id:
        raise PayloadError(f"Message {message_id} names no sender.")
    phone = inbound_phone(sender) if sender else ""
    message_type = _str(message.get("type"))
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    fields: dict[str, Any] = {
        "provider_message_id": message_id,
        "customer_phone": phone,
        "customer_user_id": user_id,
        "customer_name": _contact_name(contacts, phone, user_id),
        "timestamp": meta_timestamp(message.get("timestamp"), now),
        "reply_to": _str(context.get("id")),
        "raw_type": message_type,
    }
    if message_type == "text":
        text = _dict(message.get("text"), "text")
        return InboundMessage(kind=MessageKind.TEXT, text=_str(text.get("body")), **fields)
    if message_type in MEDIA_TYPES:
        body = _dict(message.get(message_type), message_type)
        kind = MEDIA_TYPES[message_type]
        if message_type == "audio" and body.get("voice") is True:
            kind = MessageKind.VOICE
        media = MediaRef(
            media_id=_str(body.get("id")),
            url=media_url or _str(body.get("url")),
            content_type=_str(body.get("mime_type")),
            filename=_str(body.get("filename")),
            sha256=_str(body.get("sha256")),
        )
        return InboundMessage(kind=kind, text=_str(body.get("caption")), media=media, **fields)
    if message_type == "location":
        body = _dict(message.get("location"), "location")
        location = {
            "latitude": body.get("latitude"),
            "longitude": body.get("longitude"),
            "name": _str(body.get("name")),
            "address": _str(body.get("address")),
        }
        return InboundMessage(kind=MessageKind.LOCATION, location=location, **fields)
    # contacts, interactive, button, reaction, order, system, unsupported and whatever Meta adds
    # next: kept as "unsupported" so the agent still sees that the customer wrote something.
    text, answered = _unsupported_text(message_type, message)
    if answered and not fields["reply_to"]:
        fields["reply_to"] = answered
    return InboundMessage(kind=MessageKind.UNSUPPORTED, text=text, **fields)


def parse_meta_status(status: dict, *, now: Clock, message_id: str = "") -> StatusUpdate | None:
    """One ``value.statuses[]`` entry; None for values we do not track (e.g. a "played" trigger)."""
    status = _dict(status, "statuses[]")
    state = STATUS_NAMES.get(_str(status.get("status")).lower())
    provider_id = message_id or _str(status.get("id"))
    if state is None:
        return None
    if not provider_id:
        raise PayloadError("A status has no message id.")
    code, text = "", ""
    if state is DeliveryStatus.FAILED:
        code, text = meta_error_fields(_list(status.get("errors"), "statuses[].errors"))
    return StatusUpdate(
        provider_message_id=provider_id,
        status=state,
        timestamp=meta_timestamp(status.get("timestamp"), now),
        error_code=code,
        error_message=text,
    )


def meta_error_fields(errors: list) -> tuple[str, str]:
    """Code and a readable message of ``errors[0]`` ({code, title, message, error_data.details})."""
    if not errors or not isinstance(errors[0], dict):
        return "", ""
    first = errors[0]
    title = _str(first.get("title") or first.get("message"))
    details = _str(_dict(first.get("error_data"), "error_data").get("details"))
    parts = [title] + ([details] if details and details != title else [])
    return _str(first.get("code")), ": ".join(p for p in parts if p)


def parse_messages_value(
    value: dict, *, now: Clock, media_url: str = "", status_message_id: str = ""
) -> list[ParsedEvent]:
    """A ``field == "messages"`` change value: every message and every status, in order.

    ``status_message_id`` overrides the status id when a wrapper (Kaleyra v2) names the wamid
    itself and ``statuses[].id`` may be the wrapper's own id.
    """
    value = _dict(value, "value")
    contacts = _list(value.get("contacts"), "value.contacts")  # absent on failed statuses (§1b)
    events: list[ParsedEvent] = []
    for message in _list(value.get("messages"), "value.messages"):
        events.append(parse_meta_message(message, contacts=contacts, now=now, media_url=media_url))
    statuses = _list(value.get("statuses"), "value.statuses")
    override = status_message_id if len(statuses) == 1 else ""
    for status in statuses:
        update = parse_meta_status(status, now=now, message_id=override)
        if update is not None:
            events.append(update)
    return events


def template_state(value: Any) -> str | None:
    return TEMPLATE_EVENTS.get(_str(value).strip().upper())


def parse_template_status_value(value: dict) -> TemplateStatus | None:
    """A ``message_template_status_update`` value; unknown events (archived, flagged…) are skipped (§1e)."""
    value = _dict(value, "value")
    state = template_state(value.get("event"))
    name = _str(value.get("message_template_name"))
    if state is None or not name:
        return None
    reason = _str(value.get("reason"))
    if reason.upper() in ("NONE", "NULL"):
        reason = ""
    other = value.get("other_info")
    if not reason and isinstance(other, dict):
        reason = _str(other.get("title") or other.get("description"))
    return TemplateStatus(
        name=name,
        language=_str(value.get("message_template_language")),
        status=state,
        # A number in the webhook, a string in the list API (§5.11): keep it a string everywhere.
        provider_template_id=_str(value.get("message_template_id")),
        reason=reason,
    )


def parse_change(
    field: str, value: Any, *, now: Clock, media_url: str = "", status_message_id: str = ""
) -> list[ParsedEvent]:
    """Dispatch one Meta change by its field; fields we do not consume yield nothing."""
    if field == "messages":
        return parse_messages_value(value, now=now, media_url=media_url, status_message_id=status_message_id)
    if field == "message_template_status_update":
        template = parse_template_status_value(value)
        return [template] if template else []
    return []


def guarded(parse: Callable[[], list[ParsedEvent]]) -> list[ParsedEvent]:
    """Run a parser so that any shape surprise surfaces as ``PayloadError``, never a 500."""
    try:
        return parse()
    except PayloadError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PayloadError(f"Unexpected payload shape: {exc!r}") from exc


# ----- outbound message objects -----------------------------------------------------------------
def recipient(to: str) -> str:
    """Meta's ``to``: international digits for a phone (§1d), a business-scoped user id untouched."""
    return to if is_user_id(to) else outbound_digits(to)


def _base_message(to: str, message_type: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient(to), "type": message_type}


def text_message_object(*, to: str, text: str) -> dict[str, Any]:
    message = _base_message(to, "text")
    message["text"] = {"preview_url": False, "body": text}
    return message


def media_message_object(*, to: str, media: OutboundMedia, caption: str = "") -> dict[str, Any]:
    kind = MessageKind(media.kind)
    if kind is MessageKind.VOICE:
        kind = MessageKind.AUDIO
    if kind not in MEDIA_TYPES.values():
        raise ProviderError(ErrorCode.UNSUPPORTED_MEDIA, f"Cannot send {kind.value} as media.", permanent=True)
    body: dict[str, Any] = {"link": media.url}
    # WhatsApp rejects captions on audio and stickers (§1d).
    if caption and kind not in (MessageKind.AUDIO, MessageKind.STICKER):
        body["caption"] = caption
    if kind is MessageKind.DOCUMENT and media.filename:
        body["filename"] = media.filename
    message = _base_message(to, kind.value)
    message[kind.value] = body
    return message


def template_message_object(*, to: str, template: TemplateMessage) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if template.header_params:
        components.append(
            {"type": "header", "parameters": [{"type": "text", "text": str(p)} for p in template.header_params]}
        )
    if template.body_params:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in template.body_params]}
        )
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if components:
        body["components"] = components
    message = _base_message(to, "template")
    message["template"] = body
    return message


def template_from_list_item(item: Any) -> TemplateStatus | None:
    """One template of Meta's list (also Kaleyra v2's, which passes Meta's objects through).

    ``components`` is a list of ``{"type": "HEADER"|"BODY"|"FOOTER"|"BUTTONS", "text"?, "format"?,
    "buttons"?}`` (§1e); a media header has a ``format`` but no text, kept as "" here.
    """
    if not isinstance(item, dict):
        return None
    state = template_state(item.get("status"))
    name = _str(item.get("name"))
    if state is None or not name:
        return None
    parts: dict[str, Any] = {}
    for component in item.get("components") or []:
        if not isinstance(component, dict):
            continue
        kind = _str(component.get("type")).upper()
        if kind in ("HEADER", "BODY", "FOOTER"):
            parts[kind] = _str(component.get("text")) if component.get("text") is not None else ""
        elif kind == "BUTTONS" and isinstance(component.get("buttons"), list):
            parts[kind] = [b for b in component["buttons"] if isinstance(b, dict)]
    category = _str(item.get("category")).upper() or None
    has_components = isinstance(item.get("components"), list)
    return TemplateStatus(
        name=name,
        language=_str(item.get("language")),
        status=state,
        provider_template_id=_str(item.get("id")),
        reason=_str(item.get("rejected_reason")) if _str(item.get("rejected_reason")).upper() not in ("", "NONE") else "",
        category=category,
        header=parts.get("HEADER", "") if has_components else None,
        body=parts.get("BODY", "") if has_components else None,
        footer=parts.get("FOOTER", "") if has_components else None,
        buttons=parts.get("BUTTONS", []) if has_components else None,
    )


def template_create_body(draft: TemplateDraft) -> dict[str, Any]:
    """Meta's create-template request (§1e): a body with parameters needs one row of sample values."""
    components: list[dict[str, Any]] = []
    if draft.header:
        components.append({"type": "HEADER", "format": "TEXT", "text": draft.header})
    body: dict[str, Any] = {"type": "BODY", "text": draft.body}
    if draft.examples:
        body["example"] = {"body_text": [[str(v) for v in draft.examples]]}
    components.append(body)
    if draft.footer:
        components.append({"type": "FOOTER", "text": draft.footer})
    if draft.buttons:
        components.append({"type": "BUTTONS", "buttons": list(draft.buttons)})
    return {"name": draft.name, "language": draft.language, "category": draft.category, "components": components}


def meta_error_from_json(payload: Any) -> tuple[str, str]:
    """``{"error": {"code", "message", "error_data": {"details"}}}`` → (code, message) (§1d)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return "", ""
    error = payload["error"]
    code = _str(error.get("code"))
    message = _str(error.get("message"))
    data = error.get("error_data")
    details = _str(data.get("details")) if isinstance(data, dict) else ""
    if details and details not in message:
        message = f"{message}: {details}" if message else details
    return code, message


def media_filename(media: MediaRef, content_type: str) -> str:
    if media.filename:
        return media.filename
    stem = media.media_id or hashlib.sha256(media.url.encode()).hexdigest()[:16]
    extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) if content_type else None
    return f"{stem}{extension or ''}"


# ----- the backend -------------------------------------------------------------------------------
class MetaBackend(ProviderBackend):
    provider = "meta"
    label = "Meta Cloud API"
    default_base_url = "https://graph.facebook.com"
    credential_fields = (
        CredentialField("phone_number_id", help="Phone number ID of the WhatsApp number (not the number itself)."),
        CredentialField("waba_id", help="WhatsApp Business Account ID."),
        CredentialField("access_token", secret=True, help="System-user access token."),
        CredentialField("app_secret", secret=True, help="App Secret of the Meta app; signs the webhooks."),
        CredentialField("verify_token", secret=True, help="Any random string; repeat it in Meta's webhook setup."),
        CredentialField("api_version", required=False, default=DEFAULT_GRAPH_VERSION, help="Graph API version."),
    )
    supports_templates = True
    supports_campaigns = True
    window_error_codes: ClassVar[frozenset[str]] = WINDOW_ERROR_CODES
    retryable_error_codes: ClassVar[frozenset[str]] = RETRYABLE_ERROR_CODES

    # ----- helpers --------------------------------------------------------------------------
    @property
    def api_version(self) -> str:
        return self.credentials.get("api_version") or DEFAULT_GRAPH_VERSION

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/{self.api_version}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.get('access_token', '')}"}

    # ----- webhooks -------------------------------------------------------------------------
    def handshake(self, request: WebhookRequest) -> WebhookReply | None:
        if request.method.upper() != "GET":
            return None
        if self._is_valid_handshake(request):
            return WebhookReply(200, request.query_value("hub.challenge"), "text/plain")
        return WebhookReply(403, "Verification failed.", "text/plain")

    def _is_valid_handshake(self, request: WebhookRequest) -> bool:
        expected = self.credentials.get("verify_token", "")
        given = request.query_value("hub.verify_token")
        return (
            request.query_value("hub.mode") == "subscribe"
            and bool(expected)
            and constant_time_equals(given, expected)
        )

    def verify(self, request: WebhookRequest) -> None:
        if request.method.upper() == "GET":
            # Only the handshake is a legitimate GET, and it carries nothing to store.
            if not self._is_valid_handshake(request):
                raise SignatureError("GET is not a valid Meta verification request.")
            return
        secret = self.credentials.get("app_secret", "")
        header = (request.headers.get("x-hub-signature-256") or "").strip()
        if not secret or not header.lower().startswith("sha256="):
            raise SignatureError("Missing X-Hub-Signature-256.")
        # Over the raw bytes: Meta signs its escaped-unicode serialisation, which any JSON
        # round trip would change (§1c, §5.1).
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not constant_time_equals(header[len("sha256="):].lower(), expected):
            raise SignatureError("Bad X-Hub-Signature-256.")

    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        if request.method.upper() == "GET":
            return []
        payload = load_json(request.body)
        return guarded(lambda: self._parse_envelope(payload))

    def _parse_envelope(self, payload: Any) -> list[ParsedEvent]:
        payload = _dict(payload, "body")
        if payload.get("object") not in (None, "whatsapp_business_account"):
            return []
        if "entry" not in payload:
            raise PayloadError("No entry in a Meta webhook.")
        our_number = self.credentials.get("phone_number_id", "")
        our_waba = self.credentials.get("waba_id", "")
        events: list[ParsedEvent] = []
        for entry in _list(payload.get("entry"), "entry"):
            entry = _dict(entry, "entry[]")
            for change in _list(entry.get("changes"), "entry[].changes"):
                change = _dict(change, "changes[]")
                field = _str(change.get("field"))
                value = _dict(change.get("value"), "changes[].value")
                # One Meta app can serve several numbers/WABAs: events of the others are not ours.
                metadata = _dict(value.get("metadata"), "value.metadata")
                number_id = _str(metadata.get("phone_number_id"))
                if number_id and our_number and number_id != our_number:
                    continue
                if field == "message_template_status_update":
                    waba = _str(entry.get("id"))
                    if waba and our_waba and waba != our_waba:
                        continue
                events.extend(parse_change(field, value, now=self._now))
        return events

    # ----- sending --------------------------------------------------------------------------
    def _send(self, message: dict[str, Any]) -> SendResult:
        url = f"{self.graph_url}/{self.credentials.get('phone_number_id', '')}/messages"
        response = self.request("POST", url, json=message, headers=self.auth_headers())
        payload = self.response_json(response, sent=True)
        try:
            message_id = _str(payload["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            message_id = ""
        if not message_id:
            raise self.invalid_response(response, "without a message id", sent=True)
        return SendResult(provider_message_id=message_id)

    def send_text(self, *, to: str, text: str) -> SendResult:
        return self._send(text_message_object(to=to, text=text))

    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult:
        return self._send(media_message_object(to=to, media=media, caption=caption))

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        return self._send(template_message_object(to=to, template=template))

    # ----- errors ---------------------------------------------------------------------------
    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        try:
            code, message = meta_error_from_json(response.json())
        except ValueError:
            code, message = "", ""
        if not code:
            return super().describe_error(response)
        return code, message

    # ----- media ----------------------------------------------------------------------------
    def fetch_media(self, media: MediaRef) -> FetchedMedia:
        if media.url:
            # Newer payloads carry the URL; it is short-lived, so fall back to asking for a new one.
            try:
                return self._download(media, media.url, media.content_type)
            except ProviderError as exc:
                if not media.media_id or not exc.permanent:
                    raise
        if not media.media_id:
            raise ProviderError(ErrorCode.NO_MEDIA, "The message carries no media id.", permanent=True)
        info = self.request("GET", f"{self.graph_url}/{media.media_id}", headers=self.auth_headers())
        data = self.response_json(info, sent=False)
        url = _str(data.get("url")) if isinstance(data, dict) else ""
        if not url:
            raise self.invalid_response(info, "without a media URL", sent=False)
        return self._download(media, url, _str(data.get("mime_type")) or media.content_type)

    def _download(self, media: MediaRef, url: str, declared_type: str) -> FetchedMedia:
        # The CDN link needs the same Bearer as the Graph call (§1a, §5.8).
        fetched = self.download(url, headers=self.auth_headers(), fallback_type=declared_type)
        # Meta's declared mime type beats the CDN's header, which is often application/octet-stream.
        content_type = declared_type.split(";")[0].strip() or fetched.content_type
        return FetchedMedia(
            content=fetched.content,
            content_type=content_type or "application/octet-stream",
            filename=media_filename(media, content_type),
        )

    # ----- templates ------------------------------------------------------------------------
    def list_templates(self) -> list[TemplateStatus]:
        url: str | None = f"{self.graph_url}/{self.credentials.get('waba_id', '')}/message_templates"
        params: dict[str, Any] | None = {"fields": "name,status,category,language,components", "limit": 100}
        seen: set[str] = set()
        templates: list[TemplateStatus] = []
        while url and url not in seen and len(seen) < 100:
            seen.add(url)
            page = self.request("GET", url, params=params, headers=self.auth_headers())
            params = None  # paging.next already carries the query, cursor included
            data = self.response_json(page, sent=False)
            items = (data.get("data") or []) if isinstance(data, dict) else []
            for item in items if isinstance(items, list) else []:
                template = template_from_list_item(item)
                if template is not None:
                    templates.append(template)
            # Follow paging.next until it is absent (§1e); the cursors alone are not a next page.
            paging = data.get("paging") if isinstance(data, dict) else None
            next_url = paging.get("next") if isinstance(paging, dict) else None
            url = self.rebase(next_url) if next_url else None
        return templates

    def submit_template(self, draft: TemplateDraft) -> SubmittedTemplate:
        """POST {WABA_ID}/message_templates (§1e); the outcome arrives by the status webhook."""
        url = f"{self.graph_url}/{self.credentials.get('waba_id', '')}/message_templates"
        response = self.request("POST", url, json=template_create_body(draft), headers=self.auth_headers())
        data = self.response_json(response, sent=True)
        template_id = _str(data.get("id")) if isinstance(data, dict) else ""
        if not template_id:
            raise self.invalid_response(response, "without a template id", sent=True)
        return SubmittedTemplate(
            provider_template_id=template_id, status=template_state(data.get("status")) or "pending"
        )
