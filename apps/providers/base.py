"""The one interface every WhatsApp provider backend implements.

A backend is built per WhatsApp account (``AccountConfig``) and knows nothing of Django models:
the webhook view hands it a ``WebhookRequest`` and the pipeline gets provider-neutral values back.
Every HTTP request goes to the account's ``api_base_url`` when one is set (tests point it at a
local fake provider), with the provider's paths unchanged.

Two things every backend does the same way, through the helpers here: phone numbers (read and written
with ``apps.core.phones``; a backend only adds its own wrapping, such as Twilio's ``whatsapp:``) and
failures (``ProviderError`` built by its class methods, with the codes of ``ErrorCode``).
"""
from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from apps.core.phones import normalize_phone

from .types import (
    CredentialsError,
    ErrorCode,
    FetchedMedia,
    MediaRef,
    OutboundMedia,
    ParsedEvent,
    PayloadError,
    ProviderError,
    SendResult,
    SubmittedTemplate,
    TemplateDraft,
    TemplateMessage,
    TemplateStatus,
)

HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
MAX_MEDIA_BYTES = 100 * 1024 * 1024  # WhatsApp's own ceiling for documents


@dataclass(frozen=True)
class AccountConfig:
    """What a backend needs of a WhatsApp account."""

    id: Any
    provider: str
    phone_number: str  # E.164 with "+"
    credentials: dict
    api_base_url: str = ""
    webhook_url: str = ""


class CaseInsensitiveDict(dict):
    def __init__(self, data: dict[str, str] | None = None) -> None:
        super().__init__({k.lower(): v for k, v in (data or {}).items()})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class WebhookRequest:
    """A webhook request as received, independent of Django.

    ``url`` is the account's public webhook URL as the provider was told it (Twilio signs it),
    ``body`` the raw bytes (Meta and Sinch sign them), ``form`` the decoded form pairs in order
    with repeats kept (Twilio signs those).
    """

    method: str
    url: str
    headers: CaseInsensitiveDict
    body: bytes
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def query_value(self, name: str, default: str = "") -> str:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def form_value(self, name: str, default: str = "") -> str:
        for key, value in self.form:
            if key == name:
                return value
        return default


@dataclass(frozen=True)
class WebhookReply:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class CredentialField:
    name: str
    required: bool = True
    secret: bool = False
    default: str = ""
    choices: tuple[str, ...] = ()
    help: str = ""


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


def unix_to_datetime(value: str | int | float) -> datetime:
    return datetime.fromtimestamp(float(value), tz=dt_timezone.utc)


def iso_to_datetime(value: str) -> datetime:
    """Parse ISO-8601 with any number of fractional digits (Sinch sends up to 9)."""
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{(digits + '000000')[:6]}{rest}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed


# ----- phone numbers ------------------------------------------------------------------------------
def inbound_phone(raw: Any) -> str:
    """A customer's number as a provider wrote it (``"15551234567"``, ``"+1 555 123 4567"``) → E.164.

    A sender that is no possible number makes the event one for the admin to inspect (``PayloadError``)
    rather than a conversation with a number nobody can answer.
    """
    text = "" if raw is None else str(raw)
    try:
        return normalize_phone(text, international=True)
    except ValueError as exc:
        raise PayloadError(f"The sender {text!r} is not a phone number: {exc}") from exc


def outbound_phone(number: str) -> str:
    """The E.164 form of a number we are about to send to (or send from)."""
    try:
        return normalize_phone(number, international=True)
    except ValueError as exc:
        raise ProviderError(ErrorCode.INVALID_RECIPIENT, f"{number!r} is not a phone number: {exc}", permanent=True) from exc


def is_user_id(value: str) -> bool:
    """Whether a customer handle is a business-scoped user id (Meta's BSUID) rather than a number.

    BSUIDs carry letters ("US.1000000000000000001"); numbers never do. Anything else is meant as a
    number and must be a possible one.
    """
    return any(ch.isalpha() for ch in value)


def outbound_digits(number: str) -> str:
    """The wire form of Meta, Sinch and Kaleyra v2: international digits without the "+"."""
    return outbound_phone(number)[1:]


# ----- HTTP -----------------------------------------------------------------------------------------
def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(dt_timezone.utc)).total_seconds())


class ProviderBackend(ABC):
    """Base class of the provider backends (see the module docstring)."""

    provider: ClassVar[str]
    label: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    supports_templates: ClassVar[bool] = False
    supports_campaigns: ClassVar[bool] = False
    # Whether send_media needs the file's bytes (OutboundMedia.content), not only its public URL.
    uploads_media: ClassVar[bool] = False
    # The provider's codes for "the 24-hour window has closed", for ProviderError.window_closed.
    window_error_codes: ClassVar[frozenset[str]] = frozenset()
    # The provider's codes worth retrying whatever the HTTP status (Meta throttles with HTTP 400).
    retryable_error_codes: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        account: AccountConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.account = account
        self.credentials = account.credentials or {}
        self._transport = transport
        self._now = now or (lambda: datetime.now(dt_timezone.utc))

    # ----- credentials --------------------------------------------------------------------
    @classmethod
    def validate_credentials(cls, credentials: dict | None) -> dict:
        """Return the cleaned credentials or raise ``CredentialsError`` naming each bad field."""
        credentials = dict(credentials or {})
        known = {f.name for f in cls.credential_fields}
        errors: dict[str, str] = {}
        cleaned: dict[str, str] = {}
        for name in credentials:
            if name not in known:
                errors[name] = f"Unknown field for {cls.label}."
        for f in cls.credential_fields:
            raw = credentials.get(f.name, "")
            value = "" if raw is None else str(raw).strip()
            if not value:
                value = f.default
            if f.required and not value:
                errors[f.name] = "This field is required."
                continue
            if value and f.choices and value not in f.choices:
                errors[f.name] = f"Must be one of: {', '.join(f.choices)}."
                continue
            if value:
                cleaned[f.name] = value
        if errors:
            raise CredentialsError(errors)
        return cleaned

    @classmethod
    def secret_fields(cls) -> frozenset[str]:
        return frozenset(f.name for f in cls.credential_fields if f.secret)

    # ----- webhooks -----------------------------------------------------------------------
    def handshake(self, request: WebhookRequest) -> WebhookReply | None:
        """Answer a provider's URL verification (Meta's GET); None when it is not one."""
        return None

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise ``SignatureError`` unless the request really comes from the provider."""

    def event_id(self, request: WebhookRequest) -> str:
        """A key that is the same for every redelivery of one webhook (the raw event is stored once)."""
        digest = hashlib.sha256()
        digest.update(request.body)
        for key, value in sorted(request.query):
            digest.update(f"&{key}={value}".encode())
        return digest.hexdigest()

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[ParsedEvent]:
        """Turn a verified webhook into neutral events; raise ``PayloadError`` if it makes no sense."""

    def ack(self, request: WebhookRequest) -> WebhookReply:
        return WebhookReply(200, "", "text/plain")

    # ----- sending ------------------------------------------------------------------------
    @abstractmethod
    def send_text(self, *, to: str, text: str) -> SendResult: ...

    @abstractmethod
    def send_media(self, *, to: str, media: OutboundMedia, caption: str = "") -> SendResult: ...

    def send_template(self, *, to: str, template: TemplateMessage) -> SendResult:
        raise ProviderError(ErrorCode.TEMPLATES_UNSUPPORTED, f"{self.label} cannot send templates.", permanent=True)

    @abstractmethod
    def fetch_media(self, media: MediaRef) -> FetchedMedia: ...

    def list_templates(self) -> list[TemplateStatus]:
        raise ProviderError(ErrorCode.TEMPLATES_UNSUPPORTED, f"{self.label} has no template list.", permanent=True)

    def submit_template(self, draft: TemplateDraft) -> SubmittedTemplate:
        raise ProviderError(
            ErrorCode.TEMPLATES_UNSUPPORTED, f"{self.label} templates cannot be submitted from Instant.", permanent=True
        )

    # ----- HTTP helpers -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return (self.account.api_base_url or self.default_base_url).rstrip("/")

    def rebase(self, url: str) -> str:
        """Point an absolute provider URL (a media link, say) at ``api_base_url`` when one is set."""
        if not self.account.api_base_url:
            return url
        base = urlsplit(self.account.api_base_url)
        parts = urlsplit(url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    def client(self) -> httpx.Client:
        return httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport, follow_redirects=True)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Make one HTTP call and turn every failure into a ``ProviderError``."""
        try:
            with self.client() as http:
                response = http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ProviderError.timeout(f"{self.label} did not answer in time: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ProviderError.network(f"Cannot reach {self.label}: {exc}") from exc
        if response.status_code >= 400:
            raise self.error_from_response(response)
        return response

    def error_from_response(self, response: httpx.Response) -> ProviderError:
        """Map an HTTP error answer to a ``ProviderError``; backends only read their error envelope."""
        code, message = self.describe_error(response)
        return ProviderError.from_http(
            response.status_code,
            provider_code=code,
            message=message,
            retry_after=retry_after_seconds(response),
            window_codes=self.window_error_codes,
            retryable_codes=self.retryable_error_codes,
        )

    def describe_error(self, response: httpx.Response) -> tuple[str, str]:
        """The provider's own error code ("" when it gave none) and message from an error answer."""
        return "", response.text[:500].strip()

    def rejected(self, code: str, message: str, *, http_status: int | None = None) -> ProviderError:
        """A failure the provider reported with a code of its own, in a success answer."""
        return ProviderError.rejected(
            code,
            message,
            window_codes=self.window_error_codes,
            retryable_codes=self.retryable_error_codes,
            http_status=http_status,
        )

    def invalid_response(self, response: httpx.Response, what: str, *, sent: bool) -> ProviderError:
        """An answer without what we asked for; ``sent`` as in ``ProviderError.invalid_response``."""
        snippet = response.text[:200].strip()
        return ProviderError.invalid_response(
            f"{self.label} answered {what}" + (f": {snippet}" if snippet else "."),
            sent=sent,
            http_status=response.status_code,
        )

    def response_json(self, response: httpx.Response, *, sent: bool) -> Any:
        """The JSON of a success answer, or ``invalid_response``."""
        try:
            return response.json()
        except ValueError as exc:
            raise self.invalid_response(response, "with a body that is not JSON", sent=sent) from exc

    def download(self, url: str, *, headers: dict | None = None, auth: Any = None, fallback_type: str = "") -> FetchedMedia:
        response = self.request("GET", self.rebase(url), headers=headers or {}, auth=auth)
        content = response.content
        if len(content) > MAX_MEDIA_BYTES:
            raise ProviderError(ErrorCode.MEDIA_TOO_LARGE, "The media file is larger than WhatsApp allows.", permanent=True)
        content_type = (response.headers.get("content-type") or fallback_type or "application/octet-stream").split(";")[0]
        return FetchedMedia(content=content, content_type=content_type.strip())
