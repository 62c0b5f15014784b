"""Twilio Programmable Messaging for WhatsApp (PROTOCOLS.md §2).

Twilio posts form-urlencoded webhooks signed with ``X-Twilio-Signature`` and is sent to with form
posts under HTTP Basic auth. Inbound messages and status callbacks reach the same URL: every send
carries ``StatusCallback=<webhook_url>`` (CONTRACT.md).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from .base import (
    CredentialField,
    ProviderBackend,
    WebhookReply,
    WebhookRequest,
    constant_time_equals,
    inbound_phone,
    is_user_id,
    outbound_phone,
)
from .types import (
    kind_for_content_type,
    CredentialsError,
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
    TemplateMessage,
    TemplateStatus,
)

# Content API host (§2e): templates are Content resources, apart from the Messaging API.
CONTENT_BASE_URL = "https://content.twilio.com"
CONTENT_STATES = {
    "approved": "approved",
    "rejected": "rejected",
    "pending": "pending",
    "received": "pending",
    "paused": "paused",
    "disabled": "disabled",
}

WHATSAPP_PREFIX = "whatsapp:"
SIGNATURE_HEADER = "X-Twilio-Signature"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# MessageStatus values of a status callback (§2b). "queued"-like states are reported too: the
# pipeline never moves a status backwards, so a late "sending" after "delivered" is harmless.
_STATUS_MAP: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    # A scheduled send that was cancelled will never go out: for the agent it failed.
    "canceled": DeliveryStatus.FAILED,
}
# Statuses Twilio gives an inbound message, not a callback about one of ours.
_INBOUND_STATUSES = frozenset({"", "received", "receiving"})
# Twilio's own throttling code; it normally comes with HTTP 429, but is retryable whatever the status.
RETRYABLE_ERROR_CODES = frozenset({"20429"})


def unwrap_address(address: str) -> str:
    """``whatsapp:+15551234567`` → ``+15551234567``: Twilio's channel prefix off, the rest untouched."""
    value = address.strip()
    if value.lower().startswith(WHATSAPP_PREFIX):
        value = value[len(WHATSAPP_PREFIX):]
    return value.strip()


def whatsapp_address(number: str) -> str:
    """Twilio's wire form of a WhatsApp number: ``whatsapp:+15551234567`` (§2d)."""
    return WHATSAPP_PREFIX + outbound_phone(unwrap_address(number))


def address_phone(address: str) -> str:
    """The E.164 number of a ``whatsapp:`` address; "" when it names no number (a BSUID, say)."""
    value = unwrap_address(address)
    if not value or is_user_id(value):
        return ""
    return inbound_phone(value)


def _signature(token: str, payload: str) -> str:
    digest = hmac.new(token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port.

    The official SDK checks both because Twilio itself is inconsistent about including the
    default port when signing (§2c step 4).
    """
    parts = urlsplit(url)
    variants = [url]
    if not parts.hostname:
        return variants
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    without_port = urlunsplit((parts.scheme, prefix + host, parts.path, parts.query, parts.fragment))
    variants.append(without_port)
    if default_port is not None and parts.port is None:
        variants.append(
            urlunsplit((parts.scheme, f"{prefix}{host}:{default_port}", parts.path, parts.query, parts.fragment))
        )
    return list(dict.fromkeys(variants))


def compute_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature of ``url`` plus POST ``params`` (pairs, repeats kept) — §2c steps 2-3."""
    # Sorting the (name, value) pairs sorts by name and, for a repeated name, by value: a dict
    # would keep only one value of a repeated parameter and break the signature (§5.3).
    payload = url + "".join(name + value for name, value in sorted(params))
    return _signature(token, payload)


class TwilioBackend(ProviderBackend):
    provider: ClassVar[str] = "twilio"
    label: ClassVar[str] = "Twilio"
    default_base_url: ClassVar[str] = "https://api.twilio.com"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("account_sid", help="Account SID (AC…)."),
        CredentialField("auth_token", secret=True, help="Primary Auth Token: Twilio signs webhooks with it."),
        CredentialField(
            "messaging_service_sid",
            required=False,
            help="Messaging Service SID (MG…); when set, sends go through the service instead of From.",
        ),
    )
    supports_templates: ClassVar[bool] = True
    # The seeds allow outbound campaigns on Meta and Kaleyra only (xcally-instant.txt: "for outbound
    # campaigns you can configure only Meta Connector and Kaleyra").
    supports_campaigns: ClassVar[bool] = False
    window_error_codes: ClassVar[frozenset[str]] = frozenset({"63016"})
    retryable_error_codes: ClassVar[frozenset[str]] = RETRYABLE_ERROR_CODES

    # ----- credentials --------------------------------------------------------------------
    @classmethod
    def validate_credentials(cls, credentials: dict | None) -> dict:
        errors: dict[str, str] = {}
        try:
            cleaned = super().validate_credentials(credentials)
        except CredentialsError as exc:
            # Report the format problems together with the missing fields, not one round at a time.
            errors, cleaned = dict(exc.errors), {k: str(v or "").strip() for k, v in (credentials or {}).items()}
        account_sid = cleaned.get("account_sid", "")
        if account_sid and not account_sid.startswith("AC"):
            errors["account_sid"] = "A Twilio Account SID starts with AC."
        service = cleaned.get("messaging_service_sid", "")
        if service and not service.startswith("MG"):
            errors["messaging_service_sid"] = "A Twilio Messaging Service SID starts with MG."
        if errors:
            raise CredentialsError(errors)
        return cleaned

    @property
    def _account_sid(self) -> str:
        return str(self.credentials.get("account_sid", ""))

    @property
    def _auth_token(self) -> str:
        return str(self.credentials.get("auth_token", ""))

    # ----- webhooks -----------------------------------------------------------------------
    def _signed_url(self, request: WebhookRequest) -> str:
        # Twilio signs the URL it requested: the configured public URL, query string included
        # (§2c step 1); never what Django rebuilds behind a proxy.
        if request.query and "?" not in request.url:
            return f"{request.url}?{urlencode(request.query)}"
        return request.url

    def verify(self, request: WebhookRequest) -> None:
        given = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise SignatureError("Missing X-Twilio-Signature header.")
        token = self._auth_token
        if not token:
            raise SignatureError("No Twilio auth token configured for this account.")
        url = self._signed_url(request)
        body_hash = request.query_value("bodySHA256")
        if body_hash:
            # JSON-bodied webhooks: the body is covered by its hash in the (signed) URL, and no
            # params are appended (§2c step 5).
            if not constant_time_equals(hashlib.sha256(request.body).hexdigest(), body_hash.lower()):
                raise SignatureError("bodySHA256 does not match the request body.")
            params: list[tuple[str, str]] = []
        elif request.method.upper() == "POST":
            # Only POST params are signed; query params are already part of the URL (§5.2).
            params = list(request.form)
        else:
            params = []
        param_sets = [params]
        deduplicated = list(dict.fromkeys(params))
        if len(deduplicated) != len(params):
            # The official SDK drops repeated identical pairs before signing; Twilio's own behaviour
            # is not documented, so both readings are accepted.
            param_sets.append(deduplicated)
        for candidate_url in _url_variants(url):
            for candidate_params in param_sets:
                if constant_time_equals(compute_signature(token, candidate_url, candidate_params), given):
                    return
        raise SignatureError("X-Twilio-Signature does not match.")

    def _params(self, request: WebhookRequest) -> list[tuple[str, str]]:
        # Twilio posts a form, or sends a GET with the same params in the query when configured so.
        if request.form:
            return list(request.form)
        if request.method.upper() == "GET":
            return list(request.query)
        return []

    def event_id(self, request: WebhookRequest) -> str:
        params = dict(reversed(self._params(request)))  # first value wins, like form_value()
        sid = params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid") or ""
        if not sid:
            return super().event_id(request)
        # Inbound messages and each status of an outbound message are distinct events; a
        # redelivered callback repeats both parts and is recognised as a duplicate.
        status = params.get("MessageStatus") or params.get("SmsStatus") or ""
        return f"{sid}:{status}"

    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        pairs = self._params(request)
        params = dict(reversed(pairs))
        sid = params.get("MessageSid") or params.get("SmsSid") or params.get("SmsMessageSid") or ""
        if not sid:
            raise PayloadError("Twilio webhook without MessageSid.")
        status = params.get("MessageStatus", "").strip().lower()
        if status not in _INBOUND_STATUSES:
            return self._parse_status(sid, status, params)
        return self._parse_inbound(sid, params)

    def _parse_status(self, sid: str, status: str, params: dict[str, str]) -> list[ParsedEvent]:
        mapped = _STATUS_MAP.get(status)
        if mapped is None:
            # Twilio adds values without notice (§2a); an unknown one must not fail the event.
            return []
        error_code = ""
        error_message = ""
        if mapped is DeliveryStatus.FAILED:
            error_code = params.get("ErrorCode", "").strip()
            # ErrorMessage is UNCONFIRMED in status callbacks (§2b): use it only when present.
            error_message = params.get("ErrorMessage", "").strip() or ("Canceled." if status == "canceled" else "")
            if error_code == "63016" and not error_message:
                error_message = "Outside the 24-hour messaging window: a template is required."
        # Twilio sends no timestamp (§0): the receipt time is the best there is.
        return [
            StatusUpdate(
                provider_message_id=sid,
                status=mapped,
                timestamp=self._now(),
                error_code=error_code,
                error_message=error_message,
            )
        ]

    def _parse_inbound(self, sid: str, params: dict[str, str]) -> list[ParsedEvent]:
        sender = params.get("From", "")
        customer_phone = address_phone(sender) or address_phone(params.get("WaId", ""))
        customer_user_id = ""
        if not customer_phone:
            # BSUID era: the sender may be a business-scoped id rather than a number (§2a
            # ExternalUserId, seen in a capture).
            customer_user_id = unwrap_address(params.get("ExternalUserId", "") or sender)
        if not customer_phone and not customer_user_id:
            raise PayloadError("Twilio inbound message without a sender.")
        common: dict[str, Any] = {
            "customer_phone": customer_phone,
            "customer_user_id": customer_user_id,
            # No timestamp parameter exists (§2a): receipt time.
            "timestamp": self._now(),
            "customer_name": params.get("ProfileName", ""),
            "reply_to": params.get("OriginalRepliedMessageSid", ""),
        }
        body = params.get("Body", "")
        message_type = params.get("MessageType", "").strip().lower()

        try:
            num_media = int(params.get("NumMedia") or 0)
        except ValueError as exc:
            raise PayloadError(f"NumMedia is not a number: {params.get('NumMedia')!r}") from exc
        media_items = [
            (params[f"MediaUrl{n}"], params.get(f"MediaContentType{n}", ""))
            for n in range(num_media)
            if params.get(f"MediaUrl{n}")
        ]
        if media_items:
            messages: list[ParsedEvent] = []
            for index, (url, content_type) in enumerate(media_items):
                messages.append(
                    InboundMessage(
                        # One WhatsApp message per attachment for us, all from one Twilio message.
                        provider_message_id=sid if index == 0 else f"{sid}:{index}",
                        kind=kind_for_content_type(content_type),
                        text=body if index == 0 else "",  # the caption belongs to the first only
                        media=MediaRef(url=url, content_type=content_type.split(";")[0].strip()),
                        raw_type=message_type,
                        **common,
                    )
                )
            return messages

        latitude, longitude = params.get("Latitude", ""), params.get("Longitude", "")
        if latitude and longitude:
            try:
                location = {
                    "latitude": float(latitude),
                    "longitude": float(longitude),
                    "name": params.get("Label", ""),
                    "address": params.get("Address", ""),
                }
            except ValueError as exc:
                raise PayloadError(f"Bad coordinates: {latitude!r}, {longitude!r}") from exc
            return [
                InboundMessage(
                    provider_message_id=sid,
                    kind=MessageKind.LOCATION,
                    location=location,
                    raw_type=message_type or "location",
                    **common,
                )
            ]

        if message_type in ("interactive", "button"):
            # A button or list reply: what the customer saw and tapped is the readable part.
            text = params.get("ButtonText", "") or body or params.get("ButtonPayload", "")
        else:
            text = body
        return [
            InboundMessage(
                provider_message_id=sid,
                # Never drop a message: without anything readable it is kept as "unsupported".
                kind=MessageKind.TEXT if text else MessageKind.UNSUPPORTED,
                text=text,
                raw_type=message_type or ("text" if text else "unknown"),
                **common,
            )
        ]

    def ack(self, request: WebhookRequest) -> WebhookReply:
        # Twilio expects TwiML; an empty <Response/> sends no automatic reply (§2a).
        return WebhookReply(200, EMPTY_TWIML, "text/xml")

    # ----- sending ------------------------------------------------------------------------
    def _send(self, fields: list[tuple[str, str]], *, to: str) -> SendResult:
        form: list[tuple[str, str]] = [("To", whatsapp_address(to))]
        service = str(self.credentials.get("messaging_service_sid") or "")
        if service:
            form.append(("MessagingServiceSid", service))
        else:
            form.append(("From", whatsapp_address(self.account.phone_number)))
        if self.account.webhook_url:
            # Status callbacks come back to the account's webhook URL (CONTRACT.md).
            form.append(("StatusCallback", self.account.webhook_url))
        form.extend(fields)
        response = self.request(
            "POST",
            f"{self.base_url}/2010-04-01/Accounts/{self._account_sid}/Messages.json",
            data=dict(form),
            auth=(self._account_sid, self._auth_token),
        )
        payload = self.response_json(response, sent=True)
        sid = payload.get("sid") if isinstance(payload, dict) else None
        if not sid:
            raise self.invalid_response(response, "without a message sid", sent=True)
        status = _STATUS_MAP.get(str(payload.get("status") or "").lower(), DeliveryStatus.QUEUED)
        if status is DeliveryStatus.FAILED:
            raise self.rejected(
                str(payload.get("error_code") or ""),
                str(payload.get("error_message") or "Twilio failed the message."),
                http_status=response.status_code,
            )
        return SendResult(provider_message_id=str(sid), status=status)

    def send_text(self, *, to: str, text: str) -> SendResult:
        return self._send([("Body", text)], to=to)

    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult:
        # Twilio fetches the file from MediaUrl; Body becomes the caption (§2d).
        fields = [("MediaUrl", media.url)]
        if caption:
            fields.append(("Body", caption))
        return self._send(fields, to=to)

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        if not template.provider_template_id:
            raise ProviderError(
                ErrorCode.TEMPLATE_NOT_SYNCED,
                f"Template {template.name!r} has no Twilio Content SID (HX…) yet.",
                permanent=True,
            )
        # Templates must go through ContentSid: a template text in Body fails with 63016 outside the
        # window since 2025-04 (§2b). Content variables are numbered across the whole content;
        # numbering header variables before body variables follows their order of appearance
        # (UNCONFIRMED for cards with a header variable; body-only templates are unaffected).
        values = [*template.header_params, *template.body_params]
        fields = [("ContentSid", template.provider_template_id)]
        if values:
            variables = {str(n): value for n, value in enumerate(values, start=1)}
            fields.append(("ContentVariables", json.dumps(variables, ensure_ascii=False)))
        return self._send(fields, to=to)

    def list_templates(self) -> list[TemplateStatus]:
        """Content resources with their WhatsApp approval: ``GET /v1/ContentAndApprovals`` (§2e).

        Each item is ``{"sid": "HX…", "friendly_name", "language", "types": {"twilio/text": {"body"}},
        "approval_requests": {"name", "category", "status", "rejection_reason"}}``; pages are followed
        by ``meta.next_page_url`` (Twilio's paging envelope). Items never submitted to WhatsApp
        (no approval status) are left out: they cannot be sent as templates.
        """
        base = (self.account.api_base_url or CONTENT_BASE_URL).rstrip("/")
        url: str | None = f"{base}/v1/ContentAndApprovals"
        params: dict[str, Any] | None = {"PageSize": 100}
        seen: set[str] = set()
        templates: list[TemplateStatus] = []
        while url and url not in seen and len(seen) < 100:
            seen.add(url)
            response = self.request("GET", url, params=params, auth=(self._account_sid, self._auth_token))
            params = None
            data = self.response_json(response, sent=False)
            data = data if isinstance(data, dict) else {}
            for item in data.get("contents") or []:
                template = self._content_template(item)
                if template is not None:
                    templates.append(template)
            meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
            next_url = meta.get("next_page_url")
            url = self.rebase(next_url) if isinstance(next_url, str) and next_url else None
        return templates

    @staticmethod
    def _content_template(item: Any) -> TemplateStatus | None:
        if not isinstance(item, dict):
            return None
        approval = item.get("approval_requests")
        approval = approval if isinstance(approval, dict) else {}
        state = CONTENT_STATES.get(str(approval.get("status") or "").lower())
        if state is None:
            return None
        types = item.get("types") if isinstance(item.get("types"), dict) else {}
        body = ""
        for content in types.values():
            if isinstance(content, dict) and content.get("body"):
                body = str(content["body"])
                break
        category = str(approval.get("category") or "").upper() or None
        return TemplateStatus(
            name=str(approval.get("name") or item.get("friendly_name") or ""),
            language=str(item.get("language") or ""),
            status=state,
            provider_template_id=str(item.get("sid") or ""),
            reason=str(approval.get("rejection_reason") or ""),
            category=category,
            body=body,
        )

    def fetch_media(self, media: MediaRef) -> FetchedMedia:
        # Media URLs need Basic auth when "HTTP auth for media" is on and redirect to a CDN; the
        # client follows redirects and drops the credentials on a cross-origin hop (§2a).
        return self.download(
            media.url,
            auth=(self._account_sid, self._auth_token),
            fallback_type=media.content_type,
        )

    # ----- errors -------------------------------------------------------------------------
    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("code") is not None:
            return str(payload["code"]), str(payload.get("message") or "")
        return super().describe_error(response)
