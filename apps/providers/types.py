"""Provider-neutral values that backends hand to the inbound pipeline and the send path."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MessageKind(str, enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VOICE = "voice"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    TEMPLATE = "template"
    UNSUPPORTED = "unsupported"


MEDIA_KINDS = frozenset(
    {MessageKind.IMAGE, MessageKind.AUDIO, MessageKind.VOICE, MessageKind.VIDEO, MessageKind.DOCUMENT, MessageKind.STICKER}
)


def kind_for_content_type(content_type: str, *, voice: bool | None = None) -> MessageKind:
    """The message kind a file of this type travels as.

    ``voice`` says whether an audio file is a voice note; ``None`` infers it: WhatsApp records
    voice notes as ogg/opus, while forwarded audio files usually arrive as mp3/m4a/aac/amr, so
    ogg is the best signal where a provider gives no voice flag (Twilio, Sinch, the Sandbox).
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "image/webp":
        # WhatsApp stickers are the only webp images it delivers.
        return MessageKind.STICKER
    if mime.startswith("image/"):
        return MessageKind.IMAGE
    if mime.startswith("video/"):
        return MessageKind.VIDEO
    if mime.startswith("audio/"):
        if voice is None:
            voice = mime in ("audio/ogg", "audio/opus")
        return MessageKind.VOICE if voice else MessageKind.AUDIO
    return MessageKind.DOCUMENT


class DeliveryStatus(str, enum.Enum):
    """Outbound message states, ordered so that a status never goes backwards (see ``rank``)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class MediaRef:
    """Where the pipeline can fetch an inbound attachment from.

    ``media_id`` is the provider's own handle (Meta), ``url`` a direct link (Twilio, Sinch, Kaleyra).
    """

    media_id: str = ""
    url: str = ""
    content_type: str = ""
    filename: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """One message a customer sent us."""

    provider_message_id: str
    customer_phone: str  # E.164 with "+", or "" when the provider gave only a business-scoped user id
    timestamp: datetime  # the provider's own time; receipt time where it sends none (Twilio)
    kind: MessageKind
    text: str = ""
    customer_name: str = ""
    customer_user_id: str = ""  # Meta business-scoped user id (BSUID), when present
    media: MediaRef | None = None
    location: dict | None = None  # {"latitude", "longitude", "name", "address"}
    reply_to: str = ""  # provider id of the message this one answers
    raw_type: str = ""  # the provider's own type name, kept for "unsupported"


@dataclass(frozen=True)
class StatusUpdate:
    """A status callback for a message we sent."""

    provider_message_id: str
    status: DeliveryStatus
    timestamp: datetime
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class TemplateStatus:
    """A template approval change pushed by the provider (Meta, Kaleyra)."""

    name: str
    language: str
    status: str  # draft / pending / approved / rejected / paused / disabled
    provider_template_id: str = ""
    reason: str = ""
    # What a template list says of its content (a status webhook says none of it): None = not given.
    category: str | None = None
    header: str | None = None
    body: str | None = None
    footer: str | None = None
    buttons: list[dict] | None = None


@dataclass(frozen=True)
class TemplateDraft:
    """A template to submit for approval (``ProviderBackend.submit_template``)."""

    name: str
    language: str
    category: str
    body: str
    header: str = ""
    footer: str = ""
    buttons: list[dict] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # one sample per body parameter


@dataclass(frozen=True)
class SubmittedTemplate:
    provider_template_id: str
    status: str = "pending"


ParsedEvent = InboundMessage | StatusUpdate | TemplateStatus


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: DeliveryStatus = DeliveryStatus.SENT


@dataclass(frozen=True)
class OutboundMedia:
    """An attachment to send. ``url`` is a public https URL the provider can fetch."""

    url: str
    content_type: str
    filename: str = ""
    kind: MessageKind = MessageKind.DOCUMENT
    content: bytes | None = None  # the file itself, for providers that upload (Kaleyra v1)


@dataclass(frozen=True)
class TemplateMessage:
    name: str
    language: str
    body_params: list[str] = field(default_factory=list)
    header_params: list[str] = field(default_factory=list)
    provider_template_id: str = ""  # Twilio ContentSid (HX…), Sinch template id
    rendered_text: str = ""  # the body as the customer reads it (the Sandbox's phone shows this)


@dataclass(frozen=True)
class FetchedMedia:
    content: bytes
    content_type: str
    filename: str = ""


class ErrorCode(enum.StrEnum):
    """The codes of failures a backend names itself, the same for every provider.

    Where the provider names the failure, its own code is kept instead, as a string (Meta's "131047",
    Twilio's "63016", Sinch's "OUTSIDE_ALLOWED_SENDING_WINDOW"): that is what an admin looks up in the
    provider's documentation. These codes cover what the provider did not name.
    """

    # Transport: nothing usable came back, so nothing says the request failed for good.
    TIMEOUT = "timeout"  # no answer in time (also HTTP 408)
    NETWORK = "network"  # no connection, or it broke
    # An HTTP error answer that carries no code of the provider's, by status.
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx
    AUTH_FAILED = "auth_failed"  # 401, 403: the credentials are wrong or lack a permission
    HTTP_ERROR = "http_error"  # any other 4xx
    # A success answer we cannot read (not JSON, no message id...).
    INVALID_RESPONSE = "invalid_response"
    # The provider accepted the request but reported a failure without naming it.
    SEND_FAILED = "send_failed"
    # Refused before anything was sent.
    INVALID_RECIPIENT = "invalid_recipient"
    UNSUPPORTED_MEDIA = "unsupported_media"
    TEMPLATES_UNSUPPORTED = "templates_unsupported"
    TEMPLATE_NOT_SYNCED = "template_not_synced"
    # Inbound media.
    NO_MEDIA = "no_media"
    MEDIA_TOO_LARGE = "media_too_large"


# Answers worth asking again: the provider is overloaded, throttling, or did not finish (RFC 9110).
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_HTTP_STATUSES or status >= 500


class ProviderError(Exception):
    """Every failure a backend reports, whatever the provider said.

    ``code`` is the provider's own code when it gave one, else an ``ErrorCode``. ``permanent`` errors
    fail the message; the others are retried with backoff, after ``retry_after`` seconds when the
    provider said so (``Retry-After``). ``window_closed`` marks the 24-hour window errors.

    Build them with the class methods below, so that one failure gets one code and one
    retryability from every backend.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        window_closed: bool = False,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = str(code)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.window_closed = window_closed
        self.http_status = http_status

    @classmethod
    def timeout(cls, message: str) -> ProviderError:
        return cls(ErrorCode.TIMEOUT, message, permanent=False)

    @classmethod
    def network(cls, message: str) -> ProviderError:
        return cls(ErrorCode.NETWORK, message, permanent=False)

    @classmethod
    def invalid_response(cls, message: str, *, sent: bool, http_status: int | None = None) -> ProviderError:
        """A success answer we cannot read.

        ``sent`` says the request may have taken effect (a send the provider accepted): asking again
        could deliver the message twice, so it is permanent. A read (a token, a media link, a template
        list) is harmless to repeat, and an unreadable answer is often a proxy's passing hiccup.
        """
        return cls(ErrorCode.INVALID_RESPONSE, message, permanent=sent, http_status=http_status)

    @classmethod
    def rejected(
        cls,
        code: str,
        message: str,
        *,
        window_codes: frozenset[str] = frozenset(),
        retryable_codes: frozenset[str] = frozenset(),
        http_status: int | None = None,
    ) -> ProviderError:
        """The provider refused with a code of its own."""
        code = str(code) or ErrorCode.SEND_FAILED
        return cls(
            code,
            message,
            permanent=code not in retryable_codes,
            window_closed=code in window_codes,
            http_status=http_status,
        )

    @classmethod
    def from_http(
        cls,
        status: int,
        *,
        provider_code: str = "",
        message: str = "",
        retry_after: float | None = None,
        window_codes: frozenset[str] = frozenset(),
        retryable_codes: frozenset[str] = frozenset(),
    ) -> ProviderError:
        """An HTTP error answer (status >= 400).

        Overload and server errors (408, 425, 429, 5xx) are retried, after ``retry_after`` when the
        provider sent one; so are the provider codes in ``retryable_codes`` whatever the status (Meta
        answers its throttling with HTTP 400). Everything else is permanent.
        """
        provider_code = str(provider_code or "")
        retryable = is_retryable_status(status) or provider_code in retryable_codes
        code = provider_code or _code_for_status(status)
        if not message or not provider_code:
            message = f"HTTP {status}" + (f": {message}" if message else "")
        return cls(
            code,
            message,
            permanent=not retryable,
            retry_after=retry_after if retryable else None,
            window_closed=bool(provider_code) and provider_code in window_codes,
            http_status=status,
        )


def _code_for_status(status: int) -> ErrorCode:
    if status == 408:
        return ErrorCode.TIMEOUT
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status >= 500:
        return ErrorCode.SERVER_ERROR
    if status in (401, 403):
        return ErrorCode.AUTH_FAILED
    return ErrorCode.HTTP_ERROR


class SignatureError(Exception):
    """The webhook request is not from the provider: answered with 403 and nothing is stored."""


class PayloadError(Exception):
    """A signed webhook whose body cannot be understood: stored as a failed event."""


class CredentialsError(Exception):
    """Account credentials that do not fit the provider. ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
