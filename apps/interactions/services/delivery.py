"""Outbound delivery and its receipts: a queued message goes to the provider as durable work, and the
provider's status callbacks move it forward (never back), closing or opening the window as they say.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core import work
from apps.providers.services import RetryLater
from apps.providers.types import DeliveryStatus, MessageKind, OutboundMedia, ProviderError, StatusUpdate, TemplateMessage

from .. import events
from ..models import STATUS_RANK, Interaction, Message
from .common import publish_for
from .window import window_close, window_open_from_template

log = logging.getLogger(__name__)

SEND_WORK = "interactions.send"
PUBLIC_MEDIA_SALT = "instant.public-media"


class UnknownMessage(RetryLater):
    """A status for a message we have not stored (yet): the send may still be recording its id."""


# Apps above interactions whose own sends get status callbacks (campaigns) register here from their
# AppConfig.ready(): ``hook(account=..., update=...) -> bool``, True when the status was theirs.
status_hooks: list[Callable[..., bool]] = []


def on_status(hook: Callable[..., bool]) -> None:
    if hook not in status_hooks:
        status_hooks.append(hook)


def _may_advance(current: str, new: str) -> bool:
    """Statuses only move forward; a failure sticks, and a failure never undoes a delivery."""
    if current == Message.Status.FAILED:
        return False
    if new == Message.Status.FAILED:
        return current not in (Message.Status.DELIVERED, Message.Status.READ)
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


def message_status_apply(*, account: WhatsAppAccount, update: StatusUpdate) -> Message | None:
    claimed = False
    for hook in status_hooks:
        claimed = bool(hook(account=account, update=update)) or claimed
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("interaction")
            .filter(account=account, provider_message_id=update.provider_message_id, direction=Message.Direction.OUT)
            .first()
        )
        if message is None:
            if claimed:
                return None
            raise UnknownMessage(f"No sent message has id {update.provider_message_id}.")
        new = update.status.value
        if not _may_advance(message.status, new):
            return message
        message.status = new
        message.status_at = update.timestamp
        fields = ["status", "status_at"]
        if new == Message.Status.FAILED:
            message.error_code = update.error_code
            message.error_message = update.error_message or "The provider could not deliver this message."
            message.window_closed_error = bool(update.error_code) and update.error_code in account.backend().window_error_codes
            fields += ["error_code", "error_message", "window_closed_error"]
        message.save(update_fields=fields)
        interaction = message.interaction
        publish_for(interaction, events.message_status(message))
        if new == Message.Status.FAILED and message.window_closed_error:
            window_close(interaction, now=update.timestamp)
        elif new in (Message.Status.DELIVERED, Message.Status.READ) and message.kind == MessageKind.TEMPLATE.value:
            window_open_from_template(interaction, delivered_at=update.timestamp)
        return message


def message_queue_send(interaction: Interaction, message: Message) -> None:
    """Inside the transaction that stored an outbound message: record it as the latest and ask for its send."""
    interaction.last_message_at = message.created_at
    interaction.last_message_direction = Interaction.Direction.OUT
    interaction.save(update_fields=["last_message_at", "last_message_direction"])
    publish_for(interaction, events.message_created(message))
    publish_for(interaction, events.interaction_updated(interaction))
    work.enqueue(SEND_WORK, key=f"send:{message.pk}", args={"message_id": message.pk})


def public_media_url(message: Message) -> str:
    """A signed link the provider can fetch the attachment from (WhatsApp fetches media by URL)."""
    token = signing.dumps(message.pk, salt=PUBLIC_MEDIA_SALT)
    return settings.PUBLIC_BASE_URL + reverse("public-media", kwargs={"token": token})


def _provider_send(message: Message):
    interaction = message.interaction
    to = interaction.customer_phone or interaction.customer_user_id
    backend = message.account.backend()
    if message.kind == MessageKind.TEMPLATE.value and message.template is not None:
        tpl = message.template
        params = list(message.template_params or [])
        return backend.send_template(
            to=to,
            template=TemplateMessage(
                name=tpl.name,
                language=tpl.language,
                body_params=params,
                provider_template_id=tpl.provider_template_id,
                rendered_text=message.text,
            ),
        )
    if message.attachment:
        content = None
        if backend.uploads_media:
            with message.attachment.open("rb") as fh:
                content = fh.read()
        kind = MessageKind(message.kind) if message.kind in MessageKind._value2member_map_ else MessageKind.DOCUMENT
        return backend.send_media(
            to=to,
            media=OutboundMedia(
                url=public_media_url(message),
                content_type=message.attachment_content_type,
                filename=message.attachment_filename,
                kind=kind,
                content=content,
            ),
            caption=message.text,
        )
    return backend.send_text(to=to, text=message.text)


def message_deliver(*, message_id: int) -> Message:
    """Hand a queued message to the provider, once.

    The job that runs this was claimed before the request goes out, and the answer is recorded
    right after it: only a crash between the provider's answer and that write can repeat a send
    (no provider takes an idempotency key). A retryable error is raised for the runner to retry
    with backoff (honouring Retry-After); a permanent one fails the job, and with it the message, at once.
    """
    message = Message.objects.select_related("interaction", "account", "template").get(pk=message_id)
    if message.status != Message.Status.QUEUED or message.provider_message_id:
        return message
    Message.objects.filter(pk=message.pk).update(send_attempts=message.send_attempts + 1)
    try:
        result = _provider_send(message)
    except ProviderError as exc:
        # Raised either way: the runner retries a retryable error, and fails the job of a permanent
        # one (send_work_failed marks the message), which the admin can then retry.
        if not exc.permanent:
            Message.objects.filter(pk=message.pk).update(error_message=f"Retrying: {exc.message}")
        raise
    with transaction.atomic():
        locked = Message.objects.select_for_update(of=("self",)).select_related("interaction").get(pk=message.pk)
        locked.provider_message_id = result.provider_message_id
        locked.error_message = ""
        fields = ["provider_message_id", "error_message"]
        if locked.status == Message.Status.QUEUED:
            locked.status = result.status.value if result.status != DeliveryStatus.QUEUED else Message.Status.SENT
            locked.status_at = timezone.now()
            fields += ["status", "status_at"]
        locked.save(update_fields=fields)
        publish_for(locked.interaction, events.message_status(locked))
        return locked


def message_send_failed(*, message_id: int, code: str, reason: str, window_closed: bool = False) -> Message:
    """The send will not be tried again: a red mark with the provider's reason; a window error closes it."""
    now = timezone.now()
    with transaction.atomic():
        locked = Message.objects.select_for_update(of=("self",)).select_related("interaction").get(pk=message_id)
        if locked.status != Message.Status.QUEUED:
            return locked
        locked.status = Message.Status.FAILED
        locked.error_code = code
        locked.error_message = reason
        locked.window_closed_error = window_closed
        locked.status_at = now
        locked.save(update_fields=["status", "error_code", "error_message", "window_closed_error", "status_at"])
        publish_for(locked.interaction, events.message_status(locked))
        if window_closed:
            window_close(locked.interaction, now=now)
        return locked


def message_send_retry(*, message_id: int) -> None:
    """An admin retries a failed send: the message is queued again, its red mark cleared."""
    with transaction.atomic():
        updated = Message.objects.filter(
            pk=message_id, direction=Message.Direction.OUT, status=Message.Status.FAILED, provider_message_id=""
        ).update(status=Message.Status.QUEUED, error_code="", error_message="", window_closed_error=False, status_at=None)
        if updated:
            message = Message.objects.select_related("interaction").get(pk=message_id)
            publish_for(message.interaction, events.message_status(message))


def send_work(args: dict) -> None:
    message_deliver(message_id=args["message_id"])


def send_work_failed(args: dict, exc: BaseException) -> None:
    message_send_failed(
        message_id=args["message_id"],
        code=str(getattr(exc, "code", "") or "send_failed"),
        reason=str(getattr(exc, "message", "") or exc),
        window_closed=bool(getattr(exc, "window_closed", False)),
    )


def send_work_retry(args: dict) -> None:
    message_send_retry(message_id=args["message_id"])
