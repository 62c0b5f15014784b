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


@dataclass(frozen=True)
class FetchedMedia:
    content: bytes
    content_type: str
    filename: str = ""


class ProviderError(Exception):
    """Every failure a backend reports, whatever the provider said.

    ``permanent`` errors fail the message; the others are retried with backoff, after ``retry_after``
    seconds when the provider said so (429). ``window_closed`` marks the 24-hour window errors.
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


class SignatureError(Exception):
    """The webhook request is not from the provider: answered with 403 and nothing is stored."""


class PayloadError(Exception):
    """A signed webhook whose body cannot be understood: stored as a failed event."""


class CredentialsError(Exception):
    """Account credentials that do not fit the provider. ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
