"""Sinch Conversation API v1 — "SINCH V2" in XCALLY (PROTOCOLS.md §3).

Sinch posts JSON webhooks signed with the webhook's secret and is sent to with an OAuth2
client-credentials Bearer token. The payload carries no business number: an account is one
Conversation app, recognised by ``app_id``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import httpx

from .base import (
    CredentialField,
    ProviderBackend,
    WebhookRequest,
    constant_time_equals,
    inbound_phone,
    iso_to_datetime,
    outbound_digits,
)
from .types import (
    CredentialsError,
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

DEFAULT_AUTH_URL = "https://auth.sinch.com/oauth2/token"
CHANNEL = "WHATSAPP"
WINDOW_CODE = "OUTSIDE_ALLOWED_SENDING_WINDOW"

SIGNATURE_HEADER = "x-sinch-webhook-signature"
NONCE_HEADER = "x-sinch-webhook-signature-nonce"
TIMESTAMP_HEADER = "x-sinch-webhook-signature-timestamp"
ALGORITHM_HEADER = "x-sinch-webhook-signature-algorithm"
_ALGORITHMS = {"hmacsha256": hashlib.sha256, "hmacsha384": hashlib.sha384, "hmacsha512": hashlib.sha512}
# The doc only asks for a timestamp "within an acceptable time window" (§3c); ten minutes absorbs
# clock skew and Sinch's own retry delay without letting an old capture be replayed for long.
MAX_SIGNATURE_AGE_SECONDS = 600

# A token is dropped this long before Sinch says it expires, so it never dies mid-request.
TOKEN_EXPIRY_MARGIN_SECONDS = 60

_DELIVERY_MAP: dict[str, DeliveryStatus] = {
    "QUEUED_ON_CHANNEL": DeliveryStatus.SENT,
    "DELIVERED": DeliveryStatus.DELIVERED,
    "READ": DeliveryStatus.READ,
    "FAILED": DeliveryStatus.FAILED,
}

# Sinch sends no mime type for inbound media (§3a): the extension of its URL is all there is.
_EXTENSION_KINDS: dict[str, MessageKind] = {
    "jpg": MessageKind.IMAGE,
    "jpeg": MessageKind.IMAGE,
    "png": MessageKind.IMAGE,
    "gif": MessageKind.IMAGE,
    "mp4": MessageKind.VIDEO,
    "3gp": MessageKind.VIDEO,
    "mov": MessageKind.VIDEO,
    # WhatsApp records voice notes as ogg/opus; other audio arrives as mp3/m4a/aac/amr. There is no
    # voice flag, so the container is the best signal available.
    "ogg": MessageKind.VOICE,
    "oga": MessageKind.VOICE,
    "opus": MessageKind.VOICE,
    "mp3": MessageKind.AUDIO,
    "m4a": MessageKind.AUDIO,
    "aac": MessageKind.AUDIO,
    "amr": MessageKind.AUDIO,
    "webp": MessageKind.STICKER,
}
_EXTENSION_TYPES: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "mov": "video/quicktime",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "pdf": "application/pdf",
}


class _TokenCache:
    """OAuth2 tokens shared by every backend instance of the process, keyed by (auth_url, key_id).

    Backends are built per request, so the cache must outlive them; one lock per key makes
    concurrent senders wait for a single token request instead of each fetching one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}

    def key_lock(self, key: tuple[str, str]) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, str], now: float) -> str | None:
        with self._lock:
            entry = self._tokens.get(key)
        if entry and entry[1] > now:
            return entry[0]
        return None

    def put(self, key: tuple[str, str], token: str, valid_until: float) -> None:
        with self._lock:
            self._tokens[key] = (token, valid_until)

    def discard(self, key: tuple[str, str], token: str) -> None:
        with self._lock:
            # Only drop the token that failed: another thread may already have a fresh one.
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


_TOKENS = _TokenCache()


def _extension(url: str) -> str:
    path = unquote(urlsplit(url).path)
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _filename(url: str) -> str:
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    return name if "." in name else ""


def media_kind_from_url(url: str) -> MessageKind:
    return _EXTENSION_KINDS.get(_extension(url), MessageKind.DOCUMENT)


def compute_signature(secret: str, body: bytes, nonce: str, timestamp: str, algorithm: str = "HmacSHA256") -> str:
    """§3c: base64(HMAC(secret as UTF-8, raw_body + "." + nonce + "." + timestamp))."""
    digest = _ALGORITHMS.get(algorithm.strip().lower())
    if digest is None:
        raise SignatureError(f"Unsupported signature algorithm {algorithm!r}.")
    signed = body + b"." + nonce.encode("utf-8") + b"." + timestamp.encode("utf-8")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), signed, digest).digest()).decode("ascii")


class SinchBackend(ProviderBackend):
    provider: ClassVar[str] = "sinch"
    label: ClassVar[str] = "Sinch Conversation API"
    default_base_url: ClassVar[str] = "https://us.conversation.api.sinch.com"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("project_id", help="Sinch project id."),
        CredentialField("app_id", help="Conversation app id: one app per WhatsApp sender."),
        CredentialField("key_id", help="Access key id."),
        CredentialField("key_secret", secret=True, help="Access key secret."),
        CredentialField(
            "webhook_secret",
            secret=True,
            help="Secret set on the app's webhook; unsigned webhooks are refused.",
        ),
        CredentialField(
            "auth_url",
            required=False,
            help="OAuth2 token URL; empty means https://auth.sinch.com/oauth2/token.",
        ),
    )
    supports_templates: ClassVar[bool] = True
    supports_campaigns: ClassVar[bool] = False
    window_error_codes: ClassVar[frozenset[str]] = frozenset({WINDOW_CODE})

    @classmethod
    def validate_credentials(cls, credentials: dict | None) -> dict:
        cleaned = super().validate_credentials(credentials)
        auth_url = cleaned.get("auth_url", "")
        if auth_url:
            parts = urlsplit(auth_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise CredentialsError({"auth_url": "Enter a full http(s) URL."})
        return cleaned

    @classmethod
    def clear_token_cache(cls) -> None:
        _TOKENS.clear()

    def _credential(self, name: str) -> str:
        return str(self.credentials.get(name) or "")

    # ----- webhooks -----------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> None:
        secret = self._credential("webhook_secret")
        if not secret:
            # Sinch signs only when the webhook has a secret (§3c, §5.9); unsigned means anyone.
            raise SignatureError("No Sinch webhook secret configured: unsigned webhooks are refused.")
        signature = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        nonce = request.headers.get(NONCE_HEADER) or ""
        timestamp = (request.headers.get(TIMESTAMP_HEADER) or "").strip()
        algorithm = (request.headers.get(ALGORITHM_HEADER) or "").strip() or "HmacSHA256"
        if not (signature and nonce and timestamp):
            raise SignatureError("Missing x-sinch-webhook-signature headers.")
        # The raw bytes, never re-serialised JSON: the published multi-line vector only matches
        # with the body's trailing newline kept (§3c, §5.1).
        expected = compute_signature(secret, request.body, nonce, timestamp, algorithm)
        if not constant_time_equals(expected, signature):
            raise SignatureError("x-sinch-webhook-signature does not match.")
        try:
            signed_at = float(timestamp)
        except ValueError as exc:
            raise SignatureError(f"Bad signature timestamp {timestamp!r}.") from exc
        if abs(self._now().timestamp() - signed_at) > MAX_SIGNATURE_AGE_SECONDS:
            # A replay of a captured request. Nonces are not remembered: a replay inside the window
            # repeats the same event id and is stored once anyway.
            raise SignatureError("Stale x-sinch-webhook-signature-timestamp.")

    def _load(self, request: WebhookRequest) -> dict[str, Any]:
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PayloadError(f"Sinch webhook body is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise PayloadError("Sinch webhook body is not a JSON object.")
        return payload

    def event_id(self, request: WebhookRequest) -> str:
        try:
            payload = self._load(request)
        except PayloadError:
            return super().event_id(request)
        message = payload.get("message")
        if isinstance(message, dict) and message.get("id"):
            return str(message["id"])
        report = payload.get("message_delivery_report")
        if isinstance(report, dict) and report.get("message_id"):
            return f"{report['message_id']}:{report.get('status', '')}"
        return super().event_id(request)

    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        payload = self._load(request)
        app_id = payload.get("app_id")
        if app_id and app_id != self._credential("app_id"):
            # The webhook of another app pointed at this account's URL: not ours to store.
            return []
        # No trigger name in the body: the top-level key says what it is (§3a).
        if "message" in payload:
            return self._parse_message(payload)
        if "message_delivery_report" in payload:
            return self._parse_delivery(payload)
        # Composing events, submit notifications, contact notifications…: nothing for the pipeline.
        return []

    def _timestamp(self, *values: Any) -> datetime:
        for value in values:
            if isinstance(value, str) and value.strip():
                try:
                    return iso_to_datetime(value)
                except ValueError as exc:
                    raise PayloadError(f"Bad Sinch timestamp {value!r}.") from exc
        return self._now()

    def _parse_message(self, payload: dict[str, Any]) -> list[ParsedEvent]:
        message = payload["message"]
        if not isinstance(message, dict) or not message.get("id"):
            raise PayloadError("Sinch message without an id.")
        if message.get("direction", "TO_APP") != "TO_APP":
            return []
        identity_block = message.get("channel_identity")
        if not isinstance(identity_block, dict):
            raise PayloadError("Sinch message without channel_identity.")
        if str(identity_block.get("channel") or CHANNEL).upper() != CHANNEL:
            # Another channel of the same app (SMS, Messenger…): replies from here go to WhatsApp
            # only, and a non-WhatsApp identity need not be a phone number.
            return []
        # Digits in messages; the docs also show a "+" in delivery reports (§0): both read the same.
        customer_phone = inbound_phone(identity_block.get("identity"))
        contact_message = message.get("contact_message")
        if not isinstance(contact_message, dict):
            raise PayloadError("Sinch message without contact_message.")

        reply = contact_message.get("reply_to")
        common: dict[str, Any] = {
            "provider_message_id": str(message["id"]),
            "customer_phone": customer_phone,
            "timestamp": self._timestamp(message.get("accept_time"), payload.get("accepted_time"), payload.get("event_time")),
            "reply_to": str(reply.get("message_id") or "") if isinstance(reply, dict) else "",
        }

        if isinstance(contact_message.get("text_message"), dict):
            text = str(contact_message["text_message"].get("text") or "")
            kind = MessageKind.TEXT if text else MessageKind.UNSUPPORTED
            return [InboundMessage(kind=kind, text=text, raw_type="text_message", **common)]

        for key, caption_field in (("media_message", None), ("media_card_message", "caption")):
            media = contact_message.get(key)
            if isinstance(media, dict):
                url = str(media.get("url") or "")
                if not url:
                    raise PayloadError(f"Sinch {key} without url.")
                return [
                    InboundMessage(
                        kind=media_kind_from_url(url),
                        text=str(media.get(caption_field) or "") if caption_field else "",
                        media=MediaRef(
                            url=url,
                            content_type=_EXTENSION_TYPES.get(_extension(url), ""),
                            filename=_filename(url),
                        ),
                        raw_type=key,
                        **common,
                    )
                ]

        location = contact_message.get("location_message")
        if isinstance(location, dict):
            coordinates = location.get("coordinates") or {}
            try:
                place = {
                    "latitude": float(coordinates["latitude"]),
                    "longitude": float(coordinates["longitude"]),
                    "name": str(location.get("title") or ""),
                    "address": str(location.get("label") or ""),
                }
            except (KeyError, TypeError, ValueError) as exc:
                raise PayloadError("Sinch location_message without usable coordinates.") from exc
            return [InboundMessage(kind=MessageKind.LOCATION, location=place, raw_type="location_message", **common)]

        choice = contact_message.get("choice_response_message")
        if isinstance(choice, dict):
            # The tap on a button we sent: postback_data is the readable part (our own button payload),
            # and message_id the message that carried the buttons.
            text = str(choice.get("postback_data") or "")
            if not common["reply_to"]:
                common["reply_to"] = str(choice.get("message_id") or "")
            kind = MessageKind.TEXT if text else MessageKind.UNSUPPORTED
            return [InboundMessage(kind=kind, text=text, raw_type="choice_response_message", **common)]

        # fallback_message (a WhatsApp message Sinch could not transcode), channel_specific_message
        # and whatever comes next: kept, visibly unsupported, never dropped.
        raw_type = next((k for k in contact_message if k != "reply_to"), "unknown")
        return [InboundMessage(kind=MessageKind.UNSUPPORTED, raw_type=raw_type, **common)]

    def _parse_delivery(self, payload: dict[str, Any]) -> list[ParsedEvent]:
        report = payload["message_delivery_report"]
        if not isinstance(report, dict) or not report.get("message_id") or not report.get("status"):
            raise PayloadError("Sinch delivery report without message_id or status.")
        status = _DELIVERY_MAP.get(str(report["status"]).upper())
        if status is None:
            # SWITCHING_CHANNEL is a step, not an outcome; unknown values must not fail the event.
            return []
        error_code = error_message = ""
        if status is DeliveryStatus.FAILED:
            reason = report.get("reason") if isinstance(report.get("reason"), dict) else {}
            error_code = str(reason.get("code") or "")
            error_message = str(reason.get("description") or "")
        return [
            StatusUpdate(
                provider_message_id=str(report["message_id"]),
                status=status,
                timestamp=self._timestamp(payload.get("event_time"), payload.get("accepted_time")),
                error_code=error_code,
                error_message=error_message,
            )
        ]

    # ----- OAuth2 -------------------------------------------------------------------------
    @property
    def auth_url(self) -> str:
        configured = self._credential("auth_url")
        if configured:
            return self.rebase(configured)
        if self.account.api_base_url:
            # CONTRACT.md: with an api_base_url every request, OAuth included, goes there.
            return f"{self.account.api_base_url.rstrip('/')}/oauth2/token"
        return DEFAULT_AUTH_URL

    def _token_key(self) -> tuple[str, str]:
        return (self.auth_url, self._credential("key_id"))

    def _access_token(self) -> str:
        key = self._token_key()
        cached = _TOKENS.get(key, self._now().timestamp())
        if cached:
            return cached
        with _TOKENS.key_lock(key):
            cached = _TOKENS.get(key, self._now().timestamp())
            if cached:
                return cached
            response = self.request(
                "POST",
                self.auth_url,
                data={"grant_type": "client_credentials"},
                auth=(self._credential("key_id"), self._credential("key_secret")),
            )
            payload = self.response_json(response, sent=False)
            try:
                token = str(payload["access_token"])
                expires_in = float(payload.get("expires_in") or 3600)
            except (KeyError, TypeError, ValueError) as exc:
                raise self.invalid_response(response, "without an access token", sent=False) from exc
            margin = min(TOKEN_EXPIRY_MARGIN_SECONDS, expires_in / 2)
            _TOKENS.put(key, token, self._now().timestamp() + expires_in - margin)
            return token

    # ----- sending ------------------------------------------------------------------------
    def _send(self, *, to: str, message: dict[str, Any]) -> SendResult:
        body = {
            "app_id": self._credential("app_id"),
            "recipient": {"identified_by": {"channel_identities": [{"channel": CHANNEL, "identity": outbound_digits(to)}]}},
            "message": message,
            "channel_priority_order": [CHANNEL],
        }
        url = f"{self.base_url}/v1/projects/{self._credential('project_id')}/messages:send"
        token = self._access_token()
        try:
            response = self.request("POST", url, json=body, headers={"Authorization": f"Bearer {token}"})
        except ProviderError as exc:
            if exc.http_status != 401:
                raise
            # An expired or revoked token: fetch a new one once; a second 401 is a real auth error.
            _TOKENS.discard(self._token_key(), token)
            token = self._access_token()
            response = self.request("POST", url, json=body, headers={"Authorization": f"Bearer {token}"})
        payload = self.response_json(response, sent=True)
        message_id = payload.get("message_id") if isinstance(payload, dict) else None
        if not message_id:
            raise self.invalid_response(response, "without a message_id", sent=True)
        # 200 only means accepted: the outcome, the 24-hour window included, comes as a delivery
        # report (§3d, §5.4).
        return SendResult(provider_message_id=str(message_id), status=DeliveryStatus.QUEUED)

    def send_text(self, *, to: str, text: str) -> SendResult:
        return self._send(to=to, message={"text_message": {"text": text}})

    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult:
        if not caption:
            # WhatsApp's media type is detected by Sinch from the URL (§3d).
            return self._send(to=to, message={"media_message": {"url": media.url}})
        # media_message.caption is UNCONFIRMED (§3d); a card message is documented to reach WhatsApp
        # as media with a caption. The caption goes in description rather than title, which
        # WhatsApp renders in bold (UNCONFIRMED how Sinch joins the two).
        return self._send(
            to=to,
            message={"card_message": {"media_message": {"url": media.url}, "description": caption}},
        )

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        # Flattened parameter keys, body params 1-based (§3d).
        parameters = {f"header[{n}]text": value for n, value in enumerate(template.header_params, start=1)}
        parameters.update({f"body[{n}]text": value for n, value in enumerate(template.body_params, start=1)})
        whatsapp = {
            "template_id": template.provider_template_id or template.name,
            "language_code": template.language,
            "parameters": parameters,
        }
        return self._send(to=to, message={"template_message": {"channel_template": {CHANNEL: whatsapp}}})

    def fetch_media(self, media: MediaRef) -> FetchedMedia:
        # A Sinch-hosted public URL: no authentication is documented for it (§3a).
        return self.download(media.url, fallback_type=media.content_type)

    # ----- errors -------------------------------------------------------------------------
    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict):
                # Google-RPC style envelope (UNCONFIRMED for Sinch, §3d): the named status reads
                # better than the HTTP-like numeric code.
                code = str(error.get("status") or error.get("code") or "")
                message = str(error.get("message") or "")
                if WINDOW_CODE in json.dumps(error):
                    # Should Sinch ever refuse synchronously for the window, surface the code the
                    # rest of the product knows (CONTRACT.md error_code values).
                    code = WINDOW_CODE
                return code, message
            if isinstance(error, str):
                # The OAuth token endpoint answers with RFC 6749 errors.
                return error, str(payload.get("error_description") or "")
        return super().describe_error(response)
