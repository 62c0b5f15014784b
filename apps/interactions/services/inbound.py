"""The inbound pipeline: a customer's message joins their open interaction or opens one; media is fetched."""
from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects

from apps.accounts.models import WhatsAppAccount
from apps.contacts.services import contact_find_or_create_for_customer
from apps.core import work
from apps.core.bulk import update_rows
from apps.providers.types import MEDIA_KINDS, InboundMessage, MediaRef

from .. import events
from ..models import Interaction, Message
from .common import (
    OPEN_STATES,
    WINDOW,
    batch_memo_scope,
    history_line,
    history_save,
    known_empty_tags,
    publish_for,
    publish_queue_stats,
)
from .routing import offer_interaction

log = logging.getLogger(__name__)

MEDIA_WORK = "interactions.media"

# Apps above interactions that claim a customer's new interaction (a campaign the customer answers)
# register here: ``hook(interaction=...)`` runs in the transaction that opens it, before it is offered.
opened_hooks: list[Callable[..., object]] = []


def on_opened(hook: Callable[..., object]) -> None:
    if hook not in opened_hooks:
        opened_hooks.append(hook)


def _lock_open_interaction(account: WhatsAppAccount, key: str) -> Interaction | None:
    # Only the interaction's row is locked; its owner and queue come along for its events.
    interaction = (
        Interaction.objects.select_for_update(of=("self",))
        .select_related("queue", "owner", "first_agent")
        .filter(account=account, customer_key=key, status__in=OPEN_STATES)
        .first()
    )
    if interaction is not None:
        interaction.account = account  # the same row: its events need not read it again
    return interaction


def _apply_inbound(interaction: Interaction, inbound: InboundMessage) -> list[str]:
    """What one more customer message changes on its interaction; returns the changed fields."""
    changed = ["unread_count"]
    interaction.unread_count += 1
    if inbound.customer_name and not interaction.customer_name:
        interaction.customer_name = inbound.customer_name
        changed.append("customer_name")
    if interaction.last_message_at is None or inbound.timestamp >= interaction.last_message_at:
        interaction.last_message_at = inbound.timestamp
        interaction.last_message_direction = Interaction.Direction.IN
        changed += ["last_message_at", "last_message_direction"]
    if interaction.last_inbound_at is None or inbound.timestamp > interaction.last_inbound_at:
        # The window runs from the customer's latest message by the provider's clock, so a
        # webhook a provider delivers late does not stretch it.
        interaction.last_inbound_at = inbound.timestamp
        interaction.window_expires_at = inbound.timestamp + WINDOW
        interaction.window_expiry_announced = False
        changed += ["last_inbound_at", "window_expires_at", "window_expiry_announced"]
    return changed


def _open_interaction_for(
    account: WhatsAppAccount, inbound: InboundMessage, *, look_up: bool = True
) -> tuple[Interaction, bool]:
    """The customer's open interaction on this account, or a new one in the account's queue.

    A new one is stored with this first message already counted in (one INSERT, no UPDATE after).
    The partial unique constraint settles concurrent first messages: the loser's INSERT fails
    and it joins the winner's row instead. ``look_up=False``: the caller has just seen that the
    customer has no open interaction (a batch's lock query), so the INSERT is tried at once.
    """
    key = Interaction.key_for(inbound.customer_phone, inbound.customer_user_id)
    interaction = _lock_open_interaction(account, key) if look_up else None
    if interaction is not None:
        return interaction, False
    # D11: the entry point's lists are the account's and its queue's; the contact is created in the
    # account's list (else the queue's) when the account's trigger is on.
    contact_list = account.contact_list or account.queue.contact_list
    contact = contact_find_or_create_for_customer(
        phone=inbound.customer_phone,
        user_id=inbound.customer_user_id,
        name=inbound.customer_name,
        contact_lists=[account.contact_list, account.queue.contact_list],
        create_in=contact_list if account.create_contacts else None,
    )
    interaction = Interaction(
        account=account,
        queue=account.queue,
        contact=contact,
        customer_phone=inbound.customer_phone,
        customer_user_id=inbound.customer_user_id,
        customer_name=inbound.customer_name,
        status=Interaction.Status.WAITING,
        origin=Interaction.Origin.INBOUND,
        started_at=inbound.timestamp,
    )
    _apply_inbound(interaction, inbound)
    try:
        with transaction.atomic():
            interaction.save(force_insert=True)
    except IntegrityError:
        interaction = _lock_open_interaction(account, key)
        if interaction is None:  # closed in between: a real conflict, let the event be retried
            raise
        return interaction, False
    return known_empty_tags(interaction), True


def _preview(message: Message) -> str:
    """The offer card's text for a first message (as ``selectors.offer_preview`` reads it back)."""
    return message.text[:200] if message.text else f"[{message.kind}]"


def inbound_message_receive(
    *, account: WhatsAppAccount, inbound: InboundMessage, look_up: bool = True, queue_stats: bool = True
) -> Message | None:
    """Store one customer message once, in the customer's open interaction (or a new one).

    A message stored already (another event carrying it, a reprocess) is found by its unique
    constraint rather than by a look-up before every insert: the INSERT fails, everything this
    transaction did is rolled back, and a look-up after the rollback tells a duplicate from a real
    error. Only duplicates pay for the check.
    """
    try:
        return _receive(account, inbound, look_up=look_up, queue_stats=queue_stats)
    except IntegrityError:
        if Message.objects.filter(account=account, provider_message_id=inbound.provider_message_id).exists():
            return None
        raise


def _new_message(interaction: Interaction, account: WhatsAppAccount, inbound: InboundMessage) -> Message:
    message = Message(
        interaction=interaction,
        account=account,
        direction=Message.Direction.IN,
        kind=inbound.kind.value,
        text=inbound.text,
        provider_message_id=inbound.provider_message_id,
        reply_to=inbound.reply_to,
        status=Message.Status.RECEIVED,
        created_at=inbound.timestamp,
        location=inbound.location,
        raw_type=inbound.raw_type,
    )
    if inbound.media is not None and inbound.kind in MEDIA_KINDS:
        ref = inbound.media
        message.media_ref = {
            "media_id": ref.media_id,
            "url": ref.url,
            "content_type": ref.content_type,
            "filename": ref.filename,
            "sha256": ref.sha256,
        }
        message.media_state = Message.MediaState.PENDING
        message.attachment_content_type = ref.content_type
        message.attachment_filename = ref.filename
    return message


def _fetch_media_of(message: Message) -> None:
    if message.media_state == Message.MediaState.PENDING:
        work.enqueue(MEDIA_WORK, key=f"media:{message.pk}", args={"message_id": message.pk})


def _receive(account: WhatsAppAccount, inbound: InboundMessage, *, look_up: bool, queue_stats: bool) -> Message:
    with transaction.atomic():
        interaction, created = _open_interaction_for(account, inbound, look_up=look_up)
        message = _new_message(interaction, account, inbound)
        message.save(force_insert=True)
        if not created:
            interaction.save(update_fields=_apply_inbound(interaction, inbound))
        _fetch_media_of(message)

        publish_for(interaction, events.message_created(message))
        if created:
            history = [history_line(interaction, "created", customer_phone=interaction.customer_phone)]
            for hook in opened_hooks:
                hook(interaction=interaction)
            offer_interaction(interaction=interaction, fresh=True, preview=_preview(message), history=history)
            # "created" and "offered" in one INSERT, in that order.
            history_save(history)
            if queue_stats:
                publish_queue_stats(interaction.queue_id)
        else:
            publish_for(interaction, events.interaction_updated(interaction))
        return message


def inbound_messages_receive(*, account: WhatsAppAccount, inbounds: list[InboundMessage]) -> None:
    """Many customer messages of one account, in the caller's transaction (the runner's batch, issue 11).

    The same outcome as ``inbound_message_receive`` for each, in a few statements for the whole batch:
    the customers' open interactions are locked in one query, in customer order (two batches that
    share customers lock them in the same order, so they wait for each other but never deadlock);
    their tags are read in one query; the messages go in one INSERT and the interactions in one
    UPDATE. Each message still has its ``message.created``; each interaction has one
    ``interaction.updated`` with its state after the batch. A customer without an open interaction
    has their messages received one by one (the first opens and offers it). A message stored already
    breaks the INSERT, and with it the batch: the runner then takes each event on its own, where
    duplicates are told apart.
    """
    by_customer: dict[str, list[InboundMessage]] = {}
    for inbound in inbounds:
        key = Interaction.key_for(inbound.customer_phone, inbound.customer_user_id)
        by_customer.setdefault(key, []).append(inbound)
    locked = {
        interaction.customer_key: interaction
        for interaction in Interaction.objects.select_for_update(of=("self",))
        .select_related("queue", "owner", "first_agent")
        .filter(account=account, customer_key__in=list(by_customer), status__in=OPEN_STATES)
        .order_by("customer_key")
    }
    prefetch_related_objects(list(locked.values()), "tags")
    received: list[tuple[Interaction, Message]] = []
    changed: set[str] = set()
    for key in sorted(locked):
        interaction = locked[key]
        interaction.account = account  # the same row: its events need not read it again
        for inbound in by_customer[key]:
            received.append((interaction, _new_message(interaction, account, inbound)))
            changed.update(_apply_inbound(interaction, inbound))
    if received:
        Message.objects.bulk_create([message for _, message in received])
        update_rows(list(locked.values()), sorted(changed))
        for interaction, message in received:
            _fetch_media_of(message)
            publish_for(interaction, events.message_created(message))
        for interaction in locked.values():
            publish_for(interaction, events.interaction_updated(interaction))
    # Customers without an open interaction, one message at a time: the first opens and offers it
    # (no look-up: the query above found none), the queue's counters are published once at the end.
    queues: set[int] = set()
    with batch_memo_scope():
        for key in sorted(set(by_customer) - set(locked)):
            for n, inbound in enumerate(by_customer[key]):
                message = inbound_message_receive(account=account, inbound=inbound, look_up=n > 0, queue_stats=False)
                if message is not None:
                    queues.add(message.interaction.queue_id)
    for queue_id in sorted(queues):
        publish_queue_stats(queue_id)


def message_media_store(*, message_id: int) -> Message | None:
    """Download an inbound attachment with the provider's auth so it outlives the provider's URL.

    Runs as durable work: every error is raised for the runner, which retries it with backoff or,
    for a permanent one, fails the job and marks the download failed.
    """
    message = Message.objects.select_related("account").get(pk=message_id)
    if message.media_state != Message.MediaState.PENDING:
        return message
    ref = MediaRef(**{k: v for k, v in message.media_ref.items() if k in MediaRef.__dataclass_fields__})
    Message.objects.filter(pk=message.pk).update(media_attempts=message.media_attempts + 1)
    # A ProviderError is raised for the runner: retried if it may pass, the job failed (and with it the
    # download, by media_work_failed) if it is permanent.
    fetched = message.account.backend().fetch_media(ref)
    filename = ref.filename or fetched.filename or _default_filename(message, fetched.content_type)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.media_state != Message.MediaState.PENDING:
            return locked
        locked.attachment.save(filename, ContentFile(fetched.content), save=False)
        locked.attachment_content_type = fetched.content_type or ref.content_type or "application/octet-stream"
        locked.attachment_size = len(fetched.content)
        locked.attachment_filename = filename
        locked.media_state = Message.MediaState.STORED
        locked.save()
        publish_for(locked.interaction, events.message_updated(locked))
        return locked


def media_download_failed(*, message_id: int, reason: str) -> None:
    """The download will not be tried again: the message says so (the text was kept all along)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("interaction").get(pk=message_id)
        if message.media_state != Message.MediaState.PENDING:
            return
        message.media_state = Message.MediaState.FAILED
        message.error_message = f"Media download failed: {reason}"
        message.save(update_fields=["media_state", "error_message"])
        publish_for(message.interaction, events.message_updated(message))


def media_download_retry(*, message_id: int) -> None:
    """An admin retries a failed download: the message waits for its media again."""
    Message.objects.filter(pk=message_id, media_state=Message.MediaState.FAILED).update(
        media_state=Message.MediaState.PENDING, error_message=""
    )


def media_work(args: dict) -> None:
    message_media_store(message_id=args["message_id"])


def media_work_failed(args: dict, exc: BaseException) -> None:
    media_download_failed(message_id=args["message_id"], reason=str(getattr(exc, "message", exc)))


def _default_filename(message: Message, content_type: str) -> str:
    ext = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ".bin"
    if ext == ".oga":
        ext = ".ogg"
    return f"{message.kind}-{message.pk}{ext}"


def media_work_retry(args: dict) -> None:
    media_download_retry(message_id=args["message_id"])
