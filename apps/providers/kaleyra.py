"""Kaleyra WhatsApp backend, API v2 and v1 (PROTOCOLS.md §4).

v2 wraps Meta's own objects (a change value inbound, a message object outbound), so the Meta
parsing and message builders in ``meta.py`` are reused as they are. v1 payloads are whatever the
customer typed into a Kaleyra Callback Profile, so they are parsed as tolerantly as possible.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from apps.core.phones import normalize_phone_or_blank

from .base import (
    CredentialField,
    ProviderBackend,
    WebhookRequest,
    constant_time_equals,
    inbound_phone,
    iso_to_datetime,
    outbound_digits,
    outbound_phone,
)
from .meta import (
    RETRYABLE_ERROR_CODES,
    STATUS_NAMES,
    WINDOW_ERROR_CODES,
    guarded,
    load_json,
    media_filename,
    media_message_object,
    meta_error_from_json,
    meta_timestamp,
    parse_change,
    template_create_body,
    template_from_list_item,
    template_message_object,
    template_state,
    text_message_object,
)
from .types import (
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

V2_BASE_URL = "https://api.in.kaleyra.io"
V1_BASE_URL = "https://api.kaleyra.io"
TOKEN_HEADER = "X-Instant-Token"
# Hosts that may see our api-key when we download media: a forged (unsigned) webhook must not be
# able to make us send the key to a host of its choosing.
KALEYRA_HOST_SUFFIXES = (".kaleyra.io", ".kaleyra.ai", ".kaleyra.com")

V1_KINDS: dict[str, MessageKind] = {
    "text": MessageKind.TEXT,
    "image": MessageKind.IMAGE,
    "audio": MessageKind.AUDIO,
    "voice": MessageKind.VOICE,
    "video": MessageKind.VIDEO,
    "document": MessageKind.DOCUMENT,
    "sticker": MessageKind.STICKER,
    "location": MessageKind.LOCATION,
}
_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")
MEDIA_KINDS = {MessageKind.IMAGE, MessageKind.AUDIO, MessageKind.VOICE, MessageKind.VIDEO, MessageKind.DOCUMENT, MessageKind.STICKER}


def _str(value: Any) -> str:
    return "" if value is None else str(value)


class KaleyraBackend(ProviderBackend):
    provider = "kaleyra"
    label = "Kaleyra"
    default_base_url = V2_BASE_URL
    credential_fields = (
        CredentialField("sid", help="Account SID (Kaleyra console → Developers)."),
        CredentialField("api_key", secret=True, help="API key, sent as the api-key header."),
        CredentialField("api_version", required=False, default="v2", choices=("v1", "v2"), help="WhatsApp API generation of this number."),
        CredentialField("waba_id", required=False, help="WABA id; v2 webhooks of other WABAs are ignored."),
        CredentialField(
            "webhook_header_token",
            required=False,
            secret=True,
            help=f"Optional: configure Kaleyra's callback profile to send header {TOKEN_HEADER} with this value.",
        ),
    )
    supports_templates = True
    supports_campaigns = True
    # v2 passes Meta's error codes through (PROTOCOLS.md §0), so the window code is Meta's.
    uploads_media: ClassVar[bool] = True  # v1 sends the file as multipart `media`
    window_error_codes: ClassVar[frozenset[str]] = WINDOW_ERROR_CODES
    retryable_error_codes: ClassVar[frozenset[str]] = RETRYABLE_ERROR_CODES

    @property
    def api_version(self) -> str:
        return "v1" if self.credentials.get("api_version") == "v1" else "v2"

    @property
    def base_url(self) -> str:
        if self.account.api_base_url:
            return self.account.api_base_url.rstrip("/")
        return V1_BASE_URL if self.api_version == "v1" else V2_BASE_URL

    @property
    def sid(self) -> str:
        return self.credentials.get("sid", "")

    def auth_headers(self) -> dict[str, str]:
        return {"api-key": self.credentials.get("api_key", "")}

    # ----- webhooks -------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> None:
        # Kaleyra signs nothing (PROTOCOLS.md §4c). Without a configured header token the only
        # protection is the unguessable per-account webhook URL, which the view already resolved.
        token = self.credentials.get("webhook_header_token", "")
        if not token:
            return
        given = request.headers.get(TOKEN_HEADER) or ""
        if not given or not constant_time_equals(given, token):
            raise SignatureError(f"Missing or wrong {TOKEN_HEADER} header.")

    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        payload = self._decode(request)
        return guarded(lambda: self._parse_payload(payload))

    def _decode(self, request: WebhookRequest) -> Any:
        """v1 callbacks may be a GET query, JSON, or a form post, depending on the profile (§4a)."""
        if request.method.upper() == "GET":
            if not request.query:
                raise PayloadError("Empty Kaleyra GET callback.")
            return dict(request.query)
        body = request.body.strip()
        if request.content_type.endswith("json") or body[:1] in (b"{", b"["):
            # Kaleyra's own status sample carries a trailing comma (§4b).
            return load_json(body, tolerate_trailing_commas=True)
        if request.form:
            return dict(request.form)
        if body:
            try:
                pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError) as exc:
                raise PayloadError(f"Cannot read Kaleyra callback body: {exc}") from exc
            return dict(pairs)
        if request.query:
            return dict(request.query)
        raise PayloadError("Empty Kaleyra callback.")

    def _parse_payload(self, payload: Any) -> list[ParsedEvent]:
        if not isinstance(payload, dict):
            raise PayloadError("Kaleyra callback must be an object.")
        if "meta_object" in payload:
            return self._parse_v2(payload)
        if payload.get("message_template_name") is not None:
            template = self._parse_template_status(payload)
            return [template] if template else []
        if "status" in payload and not any(k in payload for k in ("body", "type", "from")):
            return self._parse_v1_status(payload)
        return self._parse_v1_message(payload)

    def _parse_v2(self, payload: dict) -> list[ParsedEvent]:
        meta_object = payload["meta_object"]
        extra = payload.get("extra_info") if isinstance(payload.get("extra_info"), dict) else {}
        if not isinstance(meta_object, dict):
            raise PayloadError("meta_object must be an object.")
        waba = _str(extra.get("waba_id"))
        our_waba = self.credentials.get("waba_id", "")
        if waba and our_waba and waba != our_waba:
            return []
        # Kaleyra's statuses[].id may be its own 32-hex id; the wamid we got at send time is the
        # top-level message_id (§4b).
        message_id = _str(payload.get("message_id") or extra.get("message_id"))
        events = parse_change(
            _str(meta_object.get("field") or "messages"),
            meta_object.get("value"),
            now=self._now,
            media_url=_str(extra.get("media_url")),
            status_message_id=message_id,
        )
        if not events and message_id and payload.get("status"):
            # NOT-SENT never reached Meta, so it may come without a Meta status (shape UNCONFIRMED).
            events = self._parse_v1_status({**payload, "message_id": message_id})
        return events

    def _parse_template_status(self, fields: dict) -> TemplateStatus | None:
        state = template_state(fields.get("event") or fields.get("status"))
        if state is None:
            return None
        reason = _str(fields.get("reason"))
        return TemplateStatus(
            name=_str(fields.get("message_template_name")),
            language=_str(fields.get("message_template_language")),
            status=state,
            provider_template_id=_str(fields.get("message_template_id")),
            reason="" if reason.upper() in ("NONE", "NULL") else reason,
        )

    def _parse_v1_status(self, fields: dict) -> list[ParsedEvent]:
        # v1 status parameter names are profile-defined (UNCONFIRMED): accept the obvious ones.
        state = STATUS_NAMES.get(_str(fields.get("status")).strip().lower())
        message_id = _str(fields.get("message_id") or fields.get("id"))
        if state is None or not message_id:
            return []
        return [
            StatusUpdate(
                provider_message_id=message_id,
                status=state,
                timestamp=self._v1_time(fields.get("timestamp") or fields.get("created_at")),
                error_code=_str(fields.get("error_code") or fields.get("code")),
                error_message=_str(fields.get("reason") or fields.get("error") or fields.get("description")),
            )
        ]

    def _parse_v1_message(self, fields: dict) -> list[ParsedEvent]:
        sender = _str(fields.get("from")).strip()
        if not sender:
            raise PayloadError("Kaleyra v1 callback without a 'from' number.")
        phone = inbound_phone(sender)
        business = normalize_phone_or_blank(_str(fields.get("wanumber")), international=True)
        if business and business != normalize_phone_or_blank(self.account.phone_number, international=True):
            # Another number's callback profile pointed at this account's URL: not ours to store.
            return []
        raw_type = _str(fields.get("type")).strip().lower() or "text"
        kind = V1_KINDS.get(raw_type, MessageKind.UNSUPPORTED)
        text = _str(fields.get("body") or fields.get("message"))
        media = None
        if kind in MEDIA_KINDS:
            media = MediaRef(
                url=_str(fields.get("media_url")),
                content_type=_str(fields.get("mime_type")),
                filename=_str(fields.get("filename")),
            )
        location = self._v1_location(fields) if kind is MessageKind.LOCATION else None
        return [
            InboundMessage(
                provider_message_id=self._v1_message_id(fields),
                customer_phone=phone,
                customer_name=_str(fields.get("name")),
                timestamp=self._v1_time(fields.get("created_at")),
                kind=kind,
                text=text,
                media=media,
                location=location,
                reply_to=_str(fields.get("reply_to")),
                raw_type=raw_type,
            )
        ]

    @staticmethod
    def _v1_message_id(fields: dict) -> str:
        """v1 has no documented message id (§0): take one if the profile sends it, else derive one.

        The derived id is stable across redeliveries of the same callback, so a retried callback is
        not stored twice; two identical texts in the same second collapse, which we accept.
        """
        given = _str(fields.get("id") or fields.get("message_id"))
        if given:
            return given
        digest = hashlib.sha256()
        for key in ("from", "wanumber", "created_at", "type", "body", "media_url", "reply_to"):
            digest.update(f"{key}={_str(fields.get(key))}\n".encode())
        return f"kaleyra-v1-{digest.hexdigest()[:32]}"

    def _v1_time(self, value: Any) -> datetime:
        """``created_at`` format is UNCONFIRMED: unix seconds/milliseconds or ISO-8601 are accepted;
        a zoneless ISO value is taken as UTC (UNCONFIRMED), anything else falls back to receipt time."""
        text = _str(value).strip()
        if not text:
            return self._now()
        if text.isdigit():
            number = int(text)
            return meta_timestamp(number / 1000 if number > 10**11 else number, self._now)
        try:
            return iso_to_datetime(text)
        except ValueError:
            return self._now()

    @staticmethod
    def _v1_location(fields: dict) -> dict | None:
        """The ``<location>`` placeholder's format is UNCONFIRMED: a JSON object (or its string) or
        flat latitude/longitude fields are accepted. ``name`` is the customer's name in v1, not the place's."""
        location = fields.get("location")
        if isinstance(location, str) and location.strip().startswith("{"):
            try:
                location = load_json(location.encode())
            except PayloadError:
                location = None
        if isinstance(location, dict):
            source, place = location, _str(location.get("name"))
        else:
            source, place = fields, _str(fields.get("location_name"))
        if source.get("latitude") is None or source.get("longitude") is None:
            return None
        return {
            "latitude": source.get("latitude"),
            "longitude": source.get("longitude"),
            "name": place,
            "address": _str(source.get("address")),
        }

    # ----- sending --------------------------------------------------------------------------
    def send_text(self, *, to: str, text: str) -> SendResult:
        if self.api_version == "v1":
            return self._send_v1({"type": "text", "body": text}, to=to)
        return self._send_v2(text_message_object(to=to, text=text))

    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult:
        if self.api_version == "v1":
            fields = {"type": "media"}
            if caption:
                fields["caption"] = caption
            if media.content is not None:
                filename = media.filename or media_filename(MediaRef(url=media.url), media.content_type)
                files = {"media": (filename, media.content, media.content_type or "application/octet-stream")}
                return self._send_v1(fields, to=to, files=files)
            # Documented is the multipart upload; media_url is UNCONFIRMED for type=media (§4d).
            fields["media_url"] = media.url
            return self._send_v1(fields, to=to)
        return self._send_v2(media_message_object(to=to, media=media, caption=caption))

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        if self.api_version == "v1":
            fields = {"type": "template", "template_name": template.name, "lang_code": template.language}
            if template.body_params:
                fields["params"] = self._v1_params(template.body_params)
            if template.header_params:
                # Documented for mediatemplate only; sent for text headers too (UNCONFIRMED).
                fields["param_header"] = self._v1_params(template.header_params)
            return self._send_v1(fields, to=to)
        return self._send_v2(template_message_object(to=to, template=template))

    @staticmethod
    def _v1_params(values: list[str]) -> str:
        # v1 takes ONE comma-separated string of double-quoted values (§4d); how a quote inside a value
        # is escaped is undocumented, so it is replaced rather than risk splitting the parameter.
        return ",".join('"' + str(v).replace('"', "'") + '"' for v in values)

    def _send_v2(self, message: dict[str, Any]) -> SendResult:
        number = outbound_digits(self.account.phone_number)  # digits in the path: UNCONFIRMED, no sample shows "+"
        url = f"{self.base_url}/v2/{self.sid}/whatsapp/{number}/messages"
        body = {"messaging_object": message, "extra_info": {"ref": "instant"}}
        response = self.request("POST", url, json=body, headers=self.auth_headers())
        return SendResult(provider_message_id=self._message_id_from(response))

    def _send_v1(self, fields: dict[str, str], *, to: str, files: dict | None = None) -> SendResult:
        # v1 writes both numbers as +E.164 (§4d).
        data = {"to": outbound_phone(to), "from": outbound_phone(self.account.phone_number), "channel": "whatsapp", **fields}
        url = f"{self.base_url}/v1/{self.sid}/messages"
        response = self.request("POST", url, data=data, files=files, headers=self.auth_headers())
        return SendResult(provider_message_id=self._message_id_from(response))

    def _message_id_from(self, response: httpx.Response) -> str:
        """v1 answers 202 with ``data[0].message_id`` (and a top-level ``id``). The v2 answer is
        UNCONFIRMED: a Meta-like ``messages[0].id`` is tried first, then the v1 shapes."""
        payload = self.response_json(response, sent=True)
        candidates: list[Any] = []
        if isinstance(payload, dict):
            for key, inner in (("messages", "id"), ("data", "message_id"), ("data", "id")):
                items = payload.get(key)
                if isinstance(items, list) and items and isinstance(items[0], dict):
                    candidates.append(items[0].get(inner))
            candidates += [payload.get("message_id"), payload.get("id")]
        for candidate in candidates:
            if candidate:
                return _str(candidate)
        raise self.invalid_response(response, "without a message id", sent=True)

    # ----- errors ---------------------------------------------------------------------------
    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        try:
            payload = response.json()
        except ValueError:
            return super().describe_error(response)
        code, message = meta_error_from_json(payload)
        if code:
            return code, message
        if not isinstance(payload, dict):
            return super().describe_error(response)
        # Kaleyra's own envelopes vary (v1 `{"code","message","error":{field: msg}}`, UNCONFIRMED).
        error = payload.get("error")
        if isinstance(error, dict):
            code = _str(error.get("code") or error.get("error_code"))
            message = _str(error.get("message") or error.get("error_message"))
            if not message:
                message = "; ".join(f"{k}: {v}" for k, v in error.items() if k not in ("code", "error_code"))
        elif error:
            message = _str(error)
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            code = code or _str(errors[0].get("code"))
            message = message or _str(errors[0].get("message") or errors[0].get("title"))
        code = code or _str(payload.get("code") or payload.get("error_code"))
        message = message or _str(payload.get("message") or payload.get("error_message") or payload.get("description"))
        if not code:
            return "", message or response.text[:500].strip()
        return code, message

    # ----- media ----------------------------------------------------------------------------
    def fetch_media(self, media: MediaRef) -> FetchedMedia:
        if not media.url:
            # The Meta media id in v2 payloads is useless without Meta's own token (§4a).
            raise ProviderError(ErrorCode.NO_MEDIA, "Kaleyra gave no media URL.", permanent=True)
        host = (urlsplit(media.url).hostname or "").lower()
        trusted = bool(self.account.api_base_url) or host.endswith(KALEYRA_HOST_SUFFIXES)
        fetched = self.download(media.url, headers=self.auth_headers() if trusted else {}, fallback_type=media.content_type)
        # Kaleyra's S3 links may answer a generic type; the declared one from the payload wins.
        content_type = media.content_type.split(";")[0].strip() or fetched.content_type
        return FetchedMedia(
            content=fetched.content,
            content_type=content_type or "application/octet-stream",
            filename=media_filename(media, content_type),
        )

    # ----- templates ------------------------------------------------------------------------
    def list_templates(self) -> list[TemplateStatus]:
        # Endpoint seen in public client code; the response shape is UNCONFIRMED (§4e).
        url: str | None = f"{self.base_url}/v1/{self.sid}/messages/template"
        seen: set[str] = set()
        templates: list[TemplateStatus] = []
        while url and url not in seen and len(seen) < 50:
            seen.add(url)
            response = self.request("GET", url, headers=self.auth_headers())
            payload = self.response_json(response, sent=False)
            for item in self._template_items(payload):
                template = self._template_from_item(item)
                if template:
                    templates.append(template)
            next_url = payload.get("next") if isinstance(payload, dict) else None
            if isinstance(next_url, dict):
                next_url = next_url.get("url") or next_url.get("href")
            url = self.rebase(next_url) if isinstance(next_url, str) and next_url.startswith("http") else None
        return templates

    @staticmethod
    def _template_items(payload: Any) -> list[dict]:
        items: Any = payload
        if isinstance(payload, dict):
            items = next((payload[k] for k in ("data", "templates", "results") if isinstance(payload.get(k), list)), [])
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []

    @staticmethod
    def _template_from_item(item: dict) -> TemplateStatus | None:
        if isinstance(item.get("components"), list):
            # v2 numbers list Meta's own template objects (§4a: v2 passes Meta's objects through).
            return template_from_list_item(item)
        name = _str(item.get("name") or item.get("template_name"))
        state = template_state(item.get("status") or item.get("template_status"))
        if not name or state is None:
            return None
        return TemplateStatus(
            name=name,
            language=_str(item.get("language") or item.get("lang_code") or item.get("language_code")),
            status=state,
            provider_template_id=_str(item.get("id") or item.get("template_id")),
            reason=_str(item.get("reason") or item.get("rejected_reason")),
            category=_str(item.get("category")).upper() or None,
            body=_str(item["body"]) if item.get("body") is not None else None,
        )

    # ----- template submission ----------------------------------------------------------------
    def submit_template(self, draft: TemplateDraft) -> SubmittedTemplate:
        """Send a template for Meta's approval through Kaleyra; the outcome arrives by the template
        status callback (§4e) or the next sync. PROTOCOLS.md is silent on submission, so:

        v2: ``POST https://<api_domain>/v2/<sid>/whatsapp/<waba_id>/message_templates`` with the
        ``api-key`` header, for a WABA onboarded on Kaleyra's WhatsApp API V2
        (developers.kaleyra.io/docs/whatsapp-template-api-v2-create-template). v2 passes Meta's own
        objects through (§4a, §4d), so the body is Meta's create-template object (§1e); the exact body
        and answer of Kaleyra's sample are UNCONFIRMED beyond the path and auth.

        v1: ``POST https://<api_domain>/v1/<sid>/whatsapp/template`` with JSON ``name, language,
        category, header, header_content, body, footer_content, waba_id``
        (developers.kaleyra.io/docs/whatsapp-api-create-whatsapp-template-with-text); ``sample_body``
        comes from the sample-media page (…/whatsapp-api-create-whatsapp-template-with-sample-media),
        its use for text templates is UNCONFIRMED.
        """
        waba_id = self.credentials.get("waba_id", "")
        if not waba_id:
            raise ProviderError(
                ErrorCode.TEMPLATES_UNSUPPORTED,
                "Kaleyra needs the account's waba_id to submit a template: set it in the credentials.",
                permanent=True,
            )
        if self.api_version == "v1":
            url = f"{self.base_url}/v1/{self.sid}/whatsapp/template"
            body = self._v1_template_body(draft, waba_id=waba_id)
        else:
            url = f"{self.base_url}/v2/{self.sid}/whatsapp/{waba_id}/message_templates"
            body = template_create_body(draft)
        response = self.request("POST", url, json=body, headers=self.auth_headers())
        return self._submitted_from(response)

    @staticmethod
    def _v1_template_body(draft: TemplateDraft, *, waba_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": draft.name,
            "language": draft.language,
            "category": draft.category,
            "body": draft.body,
            "waba_id": waba_id,
        }
        if draft.header:
            # The sample-media page writes the header as a JSON object {"type": "image"}.
            body["header"] = {"type": "text"}
            body["header_content"] = draft.header
        if draft.footer:
            body["footer_content"] = draft.footer
        if draft.examples:
            examples = [str(v) for v in draft.examples]
            body["sample_body"] = _PARAM.sub(
                lambda m: examples[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(examples) else m.group(0),
                draft.body,
            )
        return body

    def _submitted_from(self, response: httpx.Response) -> SubmittedTemplate:
        """Meta's ``{"id", "status"}`` (v2 passes it through), or the same inside Kaleyra's ``data``
        envelope (v1 answers ``data`` lists elsewhere, §4d): both shapes are accepted (UNCONFIRMED)."""
        payload = self.response_json(response, sent=True)
        candidates: list[dict] = []
        if isinstance(payload, dict):
            candidates.append(payload)
            data = payload.get("data")
            if isinstance(data, dict):
                candidates.append(data)
            elif isinstance(data, list) and data and isinstance(data[0], dict):
                candidates.append(data[0])
        for item in candidates:
            template_id = _str(item.get("id") or item.get("template_id") or item.get("message_template_id"))
            if template_id:
                state = template_state(item.get("status") or item.get("template_status"))
                return SubmittedTemplate(provider_template_id=template_id, status=state or "pending")
        raise self.invalid_response(response, "without a template id", sent=True)
