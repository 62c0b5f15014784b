"""Use cases of interactions and their messages: the inbound pipeline, offers, chat and closing.

Every top-level service is one transaction; races are settled inside it with a conditional
UPDATE (accept) or row locks, and realtime events and tasks leave only after commit.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.contacts.services import contact_find_or_create_for_customer
from apps.core.exceptions import Conflict, Invalid, NotAllowed, ServiceError
from apps.core.realtime import SUPERVISORS_GROUP, agent_group, interaction_group, publish, queue_group
from apps.core.tasks import enqueue
from apps.providers.types import (
    MEDIA_KINDS,
    DeliveryStatus,
    InboundMessage,
    MessageKind,
    StatusUpdate,
    kind_for_content_type,
)
from apps.users.models import User

from . import events
from .models import STATUS_RANK, Interaction, InteractionEvent, InteractionOffer, Message, Note

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
OPEN_STATES = (Interaction.Status.WAITING, Interaction.Status.OPEN)


# ----- audiences -------------------------------------------------------------------------------
def _audience(interaction: Interaction) -> list[str]:
    groups = [interaction_group(interaction.pk)]
    if interaction.owner_id:
        groups.append(agent_group(interaction.owner_id))
    return groups


def _publish_queue_stats(queue_id: int) -> None:
    stats = queue_stats(queue_id)
    publish(events.queue_stats(queue_id, stats), groups=[queue_group(queue_id), SUPERVISORS_GROUP])


def queue_stats(queue_id: int) -> dict[str, int]:
    counts = Interaction.objects.filter(queue_id=queue_id, status__in=OPEN_STATES).aggregate(
        waiting=Count("id", filter=Q(status=Interaction.Status.WAITING)),
        open=Count("id", filter=Q(status=Interaction.Status.OPEN)),
    )
    offered = (
        InteractionOffer.objects.filter(interaction__queue_id=queue_id, status=InteractionOffer.Status.OFFERED)
        .values("interaction_id")
        .distinct()
        .count()
    )
    return {"waiting": counts["waiting"] or 0, "offered": offered, "open": counts["open"] or 0}


def history_record(interaction: Interaction | int, kind: str, actor: User | None = None, **data) -> None:
    """One line of the interaction's history (who was offered it, took it, transferred it...)."""
    interaction_id = interaction if isinstance(interaction, int) else interaction.pk
    InteractionEvent.objects.create(interaction_id=interaction_id, kind=kind, actor=actor, data=data)


# ----- inbound pipeline ------------------------------------------------------------------------
def _lock_open_interaction(account: WhatsAppAccount, key: str) -> Interaction | None:
    return (
        Interaction.objects.select_for_update()
        .filter(account=account, customer_key=key, status__in=OPEN_STATES)
        .first()
    )


def _open_interaction_for(account: WhatsAppAccount, inbound: InboundMessage) -> tuple[Interaction, bool]:
    """The customer's open interaction on this account, or a new one in the account's queue.

    The partial unique constraint settles concurrent first messages: the loser's INSERT fails
    and it joins the winner's row instead.
    """
    key = inbound.customer_phone or f"bsuid:{inbound.customer_user_id}"
    interaction = _lock_open_interaction(account, key)
    if interaction is not None:
        return interaction, False
    contact_list = account.contact_list or account.queue.contact_list
    contact = contact_find_or_create_for_customer(
        phone=inbound.customer_phone,
        user_id=inbound.customer_user_id,
        name=inbound.customer_name,
        contact_list=contact_list,
        create=account.create_contacts,
    )
    try:
        with transaction.atomic():
            interaction = Interaction.objects.create(
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
    except IntegrityError:
        interaction = _lock_open_interaction(account, key)
        if interaction is None:  # closed in between: a real conflict, let the event be retried
            raise
        return interaction, False
    return interaction, True


def inbound_message_receive(*, account: WhatsAppAccount, inbound: InboundMessage) -> Message | None:
    """Store one customer message once, in the customer's open interaction (or a new one)."""
    with transaction.atomic():
        if Message.objects.filter(account=account, provider_message_id=inbound.provider_message_id).exists():
            return None
        interaction, created = _open_interaction_for(account, inbound)
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
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:  # the same provider message stored by a concurrent delivery
            return None

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
        interaction.save(update_fields=changed)

        if message.media_state == Message.MediaState.PENDING:
            from .tasks import download_media

            enqueue(download_media, message.pk)

        publish(events.message_created(message), groups=_audience(interaction))
        if created:
            history_record(interaction, "created", customer_phone=interaction.customer_phone)
            offer_interaction(interaction=interaction)
            _publish_queue_stats(interaction.queue_id)
        else:
            publish(events.interaction_updated(interaction), groups=_audience(interaction))
        return message


def _may_advance(current: str, new: str) -> bool:
    """Statuses only move forward; a failure sticks, and a failure never undoes a delivery."""
    if current == Message.Status.FAILED:
        return False
    if new == Message.Status.FAILED:
        return current not in (Message.Status.DELIVERED, Message.Status.READ)
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


class UnknownMessage(ServiceError):
    """A status for a message we have not stored (yet): the send may still be recording its id."""


def message_status_apply(*, account: WhatsAppAccount, update: StatusUpdate) -> Message:
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("interaction")
            .filter(account=account, provider_message_id=update.provider_message_id, direction=Message.Direction.OUT)
            .first()
        )
        if message is None:
            raise UnknownMessage("unknown_message", f"No sent message has id {update.provider_message_id}.")
        new = update.status.value
        if not _may_advance(message.status, new):
            return message
        message.status = new
        message.status_at = update.timestamp
        fields = ["status", "status_at"]
        if new == Message.Status.FAILED:
            message.error_code = update.error_code
            message.error_message = update.error_message or "The provider could not deliver this message."
            message.window_closed_error = _is_window_error(account, update.error_code)
            fields += ["error_code", "error_message", "window_closed_error"]
        message.save(update_fields=fields)
        interaction = message.interaction
        publish(events.message_status(message), groups=_audience(interaction))
        if new == Message.Status.FAILED and message.window_closed_error:
            _close_window(interaction, now=update.timestamp)
        elif new in (Message.Status.DELIVERED, Message.Status.READ) and message.kind == MessageKind.TEMPLATE.value:
            _open_window_from_template(interaction, delivered_at=update.timestamp)
        return message


def _is_window_error(account: WhatsAppAccount, code: str) -> bool:
    return bool(code) and code in account.backend().window_error_codes


def _close_window(interaction: Interaction, *, now: datetime) -> None:
    """The provider says the window has closed: believe it, whatever our own clock said."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.window_expires_at is None or interaction.window_expires_at > now:
        interaction.window_expires_at = now
    interaction.window_expiry_announced = True
    interaction.save(update_fields=["window_expires_at", "window_expiry_announced"])
    if interaction.status != Interaction.Status.CLOSED:
        publish(
            events.window_expired(interaction, recontact_available=recontact_available(interaction)),
            groups=_audience(interaction),
        )


def _open_window_from_template(interaction: Interaction, *, delivered_at: datetime) -> None:
    """Campaign and agent-started interactions: 24 h from the template's delivery, until the customer writes."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.last_inbound_at is not None and interaction.last_inbound_at >= delivered_at - WINDOW:
        return
    expires = delivered_at + WINDOW
    if interaction.window_expires_at is None or expires > interaction.window_expires_at:
        interaction.window_expires_at = expires
        interaction.window_expiry_announced = False
        interaction.save(update_fields=["window_expires_at", "window_expiry_announced"])
        publish(events.interaction_updated(interaction), groups=_audience(interaction))


def recontact_available(interaction: Interaction) -> bool:
    template = interaction.account.recontact_template
    return template is not None and template.status == "approved"


def message_media_store(*, message_id: int) -> Message | None:
    """Download an inbound attachment with the provider's auth so it outlives the provider's URL."""
    from apps.providers.types import MediaRef, ProviderError

    message = Message.objects.select_related("account").get(pk=message_id)
    if message.media_state != Message.MediaState.PENDING:
        return message
    ref = MediaRef(**{k: v for k, v in message.media_ref.items() if k in MediaRef.__dataclass_fields__})
    try:
        fetched = message.account.backend().fetch_media(ref)
    except ProviderError as exc:
        attempts = message.media_attempts + 1
        retry = not exc.permanent and attempts < settings.INSTANT_MEDIA_MAX_RETRIES
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(
                media_attempts=attempts,
                media_state=Message.MediaState.PENDING if retry else Message.MediaState.FAILED,
                error_message="" if retry else f"Media download failed: {exc.message}",
            )
            if retry:
                from .tasks import download_media

                enqueue(download_media, message.pk, countdown=exc.retry_after or 2**attempts)
            else:
                message.refresh_from_db()
                publish(events.message_updated(message), groups=_audience(message.interaction))
        log.warning("media download for message %s failed (%s), retry=%s", message.pk, exc, retry)
        return message
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
        locked.media_attempts += 1
        locked.save()
        publish(events.message_updated(locked), groups=_audience(locked.interaction))
        return locked


def _default_filename(message: Message, content_type: str) -> str:
    import mimetypes

    ext = mimetypes.guess_extension((content_type or "").split(";")[0].strip()) or ".bin"
    if ext == ".oga":
        ext = ".ogg"
    return f"{message.kind}-{message.pk}{ext}"


# ----- offers (D2) -------------------------------------------------------------------------------
def _eligible_agents(interaction: Interaction) -> list[User]:
    """Online agents of the queue with no live offer for it and no refusal since they came online."""
    agents = list(interaction.queue.agents.filter(is_active=True, presence=User.Presence.ONLINE))
    if not agents:
        return []
    offers = InteractionOffer.objects.filter(interaction=interaction, agent__in=agents).values_list(
        "agent_id", "status", "decided_at"
    )
    excluded = set()
    presence_since = {a.pk: a.presence_changed_at for a in agents}
    for agent_id, status, decided_at in offers:
        if status == InteractionOffer.Status.OFFERED:
            excluded.add(agent_id)
        # A refusal counts until the agent's presence changes (came back from a pause, say).
        elif status in (InteractionOffer.Status.REJECTED, InteractionOffer.Status.EXPIRED) and (
            decided_at is not None and decided_at >= presence_since[agent_id]
        ):
            excluded.add(agent_id)
    return [a for a in agents if a.pk not in excluded]


def offer_interaction(*, interaction: Interaction, now: datetime | None = None) -> list[InteractionOffer]:
    """Offer a waiting interaction to every eligible online agent of its queue (inside a transaction)."""
    if interaction.status != Interaction.Status.WAITING:
        return []
    now = now or timezone.now()
    expires = now + timedelta(seconds=interaction.queue.offer_timeout)
    offers = []
    serialized = None
    for agent in _eligible_agents(interaction):
        try:
            with transaction.atomic():
                offer = InteractionOffer.objects.create(interaction=interaction, agent=agent, expires_at=expires)
        except IntegrityError:  # offered concurrently already
            continue
        offers.append(offer)
        if serialized is None:
            serialized, preview = events.interaction_data(interaction), events.offer_preview(interaction)
        publish(
            events.interaction_offered(interaction, offer, serialized=serialized, preview=preview),
            groups=[agent_group(agent.pk)],
        )
    if offers:
        history_record(interaction, "offered", agents=[o.agent_id for o in offers])
    return offers


def offers_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent came online: offer every waiting interaction of their queues."""
    count = 0
    queues = set()
    waiting = Interaction.objects.filter(status=Interaction.Status.WAITING, queue__agents=agent).order_by("started_at")
    for interaction in waiting:
        with transaction.atomic():
            locked = Interaction.objects.select_for_update().get(pk=interaction.pk)
            count += len(offer_interaction(interaction=locked, now=now))
            queues.add(locked.queue_id)
    for queue_id in queues:
        _publish_queue_stats(queue_id)
    return count


def interaction_accept(*, interaction_id: int, user: User) -> Interaction:
    """D2: the first accept wins, settled by one conditional UPDATE; every other accept gets 409."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = _get_visible(interaction_id, user)
        if not user.queues.filter(pk=interaction.queue_id).exists() and not InteractionOffer.objects.filter(
            interaction_id=interaction_id, agent=user, status=InteractionOffer.Status.OFFERED
        ).exists():
            raise NotAllowed("not_queue_member", "You are not an agent of this interaction's queue.")
        won = Interaction.objects.filter(
            pk=interaction_id, status=Interaction.Status.WAITING, owner__isnull=True
        ).update(
            status=Interaction.Status.OPEN,
            owner=user,
            first_agent=Coalesce("first_agent", user.pk),
            accepted_at=now,
        )
        if not won:
            raise Conflict("already_taken", "Another agent has already taken this interaction.")
        interaction.refresh_from_db()
        InteractionOffer.objects.filter(
            interaction=interaction, agent=user, status=InteractionOffer.Status.OFFERED
        ).update(status=InteractionOffer.Status.ACCEPTED, decided_at=now)
        others = list(
            InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED)
            .values_list("agent_id", flat=True)
        )
        InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED).update(
            status=InteractionOffer.Status.TAKEN, decided_at=now
        )
        history_record(interaction, "accepted", user)
        publish(events.interaction_taken(interaction, user), groups=[agent_group(a) for a in others])
        publish(events.interaction_assigned(interaction), groups=_audience(interaction))
        _publish_queue_stats(interaction.queue_id)
        return interaction


def interaction_reject(*, interaction_id: int, user: User) -> Interaction:
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = _get_visible(interaction_id, user)
        updated = InteractionOffer.objects.filter(
            interaction=interaction, agent=user, status=InteractionOffer.Status.OFFERED
        ).update(status=InteractionOffer.Status.REJECTED, decided_at=now)
        if not updated:
            if interaction.status != Interaction.Status.WAITING:
                raise Conflict("already_taken", "This interaction is no longer waiting.")
            raise Conflict("no_offer", "You have no offer for this interaction.")
        history_record(interaction, "rejected", user)
        publish(events.offer_withdrawn(interaction, "rejected"), groups=[agent_group(user.pk)])
        _publish_queue_stats(interaction.queue_id)
        return interaction


def offers_expire(*, now: datetime | None = None) -> int:
    """Withdraw offers nobody answered in time; then offer waiting interactions to whoever is eligible."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            offer = (
                InteractionOffer.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=InteractionOffer.Status.OFFERED, expires_at__lte=now)
                .select_related("interaction")
                .first()
            )
            if offer is None:
                break
            offer.status = InteractionOffer.Status.EXPIRED
            offer.decided_at = now
            offer.save(update_fields=["status", "decided_at"])
            publish(events.offer_withdrawn(offer.interaction, "expired"), groups=[agent_group(offer.agent_id)])
            _publish_queue_stats(offer.interaction.queue_id)
            count += 1
    return count


# ----- chat (D3, D4, D5) ------------------------------------------------------------------------
def _get_visible(interaction_id: int, user: User) -> Interaction:
    from .selectors import interaction_list_for

    try:
        return interaction_list_for(user).select_related("account", "queue").get(pk=interaction_id)
    except Interaction.DoesNotExist:
        raise ServiceError("not_found", "No such interaction.", status=404) from None


def interaction_lock_owned(interaction_id: int, user: User) -> Interaction:
    """Lock an open interaction the caller owns (inside a transaction), or raise why not."""
    interaction = _get_visible(interaction_id, user)
    # Lock the interaction row only: joining account and queue must not serialise a whole queue.
    interaction = Interaction.objects.select_for_update(of=("self",)).select_related("account", "queue").get(pk=interaction.pk)
    if interaction.status == Interaction.Status.CLOSED:
        raise Conflict("interaction_closed", "This interaction is closed.")
    if interaction.owner_id != user.pk:
        raise Conflict("not_owner", "Only the agent who owns this interaction can do that.")
    return interaction


def interaction_mark_read(*, interaction_id: int, user: User) -> Interaction:
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = interaction_lock_owned(interaction_id, user)
        Message.objects.filter(interaction=interaction, direction=Message.Direction.IN, seen_at__isnull=True).update(
            seen_at=now
        )
        if interaction.unread_count:
            interaction.unread_count = 0
            interaction.save(update_fields=["unread_count"])
        publish(events.interaction_updated(interaction), groups=_audience(interaction))
        return interaction


def note_create(*, interaction_id: int, user: User, text: str) -> Note:
    text = (text or "").strip()
    if not text:
        raise Invalid("empty_note", "A note needs some text.")
    with transaction.atomic(durable=True):
        interaction = _get_visible(interaction_id, user)
        if user.is_supervisor_or_admin and interaction.owner_id != user.pk:
            kind = Note.Kind.SUPERVISOR
        elif interaction.owner_id == user.pk:
            kind = Note.Kind.AGENT
        else:
            raise Conflict("not_owner", "Only the owner or a supervisor can add notes.")
        note = Note.objects.create(interaction=interaction, author=user, kind=kind, text=text)
        publish(events.note_created(note), groups=_audience(interaction))
        return note


def interaction_close(*, interaction_id: int, user: User, disposition_id: int | None = None) -> Interaction:
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = _get_visible(interaction_id, user)
        interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
        if interaction.status == Interaction.Status.CLOSED:
            raise Conflict("interaction_closed", "This interaction is already closed.")
        if interaction.owner_id != user.pk and not user.is_supervisor_or_admin:
            raise Conflict("not_owner", "Only the agent who owns this interaction can close it.")
        disposition = None
        if disposition_id:
            disposition = interaction.queue.dispositions.filter(pk=disposition_id).first()
            if disposition is None:
                raise Invalid("invalid_disposition", "That disposition does not belong to this queue.")
        interaction.status = Interaction.Status.CLOSED
        interaction.closed_at = now
        interaction.closed_by = user
        interaction.disposition = disposition
        interaction.save(update_fields=["status", "closed_at", "closed_by", "disposition"])
        live = list(
            InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED)
            .values_list("agent_id", flat=True)
        )
        InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED).update(
            status=InteractionOffer.Status.WITHDRAWN, decided_at=now
        )
        for agent_id in live:
            publish(events.offer_withdrawn(interaction, "closed"), groups=[agent_group(agent_id)])
        from apps.transfers.services import transfers_cancel_for

        transfers_cancel_for(interaction=interaction, now=now)
        history_record(interaction, "closed", user, disposition=disposition.name if disposition else None)
        publish(events.interaction_closed(interaction), groups=_audience(interaction))
        _publish_queue_stats(interaction.queue_id)
        return interaction


def windows_expire(*, now: datetime | None = None) -> int:
    """D7: announce each open interaction whose 24-hour window has run out, once."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            interaction = (
                Interaction.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status__in=OPEN_STATES, window_expires_at__lte=now, window_expiry_announced=False)
                .select_related("account__recontact_template")
                .first()
            )
            if interaction is None:
                break
            interaction.window_expiry_announced = True
            interaction.save(update_fields=["window_expiry_announced"])
            publish(
                events.window_expired(interaction, recontact_available=recontact_available(interaction)),
                groups=_audience(interaction),
            )
            count += 1
    return count


# ----- outbound ----------------------------------------------------------------------------------
def _attachment_limits_check(upload) -> None:
    from apps.core.models import InstallationSettings

    config = InstallationSettings.load()
    if not config.attachments_enabled:
        raise NotAllowed("attachments_disabled", "Attachments are disabled by the administrator.")
    if upload.size > config.attachment_max_bytes:
        limit_mb = config.attachment_max_bytes / (1024 * 1024)
        raise Invalid(
            "attachment_too_large",
            f"The file is {upload.size / (1024 * 1024):.1f} MB; the limit is {limit_mb:.0f} MB.",
        )


def message_send(*, interaction_id: int, user: User, text: str = "", upload=None, voice: bool = False) -> Message:
    """D3: an agent's message, stored as queued and sent by a task through the account's backend."""
    text = (text or "").strip()
    if not text and upload is None:
        raise Invalid("empty_message", "Write a message or attach a file.")
    if upload is not None:
        _attachment_limits_check(upload)
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = interaction_lock_owned(interaction_id, user)
        if not interaction.window_open(now):
            raise Conflict(
                "window_closed",
                "The 24-hour customer service window has closed: send the recontact template.",
            )
        message = Message(
            interaction=interaction,
            account=interaction.account,
            direction=Message.Direction.OUT,
            kind=MessageKind.TEXT.value,
            text=text,
            status=Message.Status.QUEUED,
            created_at=now,
            sender=user,
        )
        if upload is not None:
            content_type = getattr(upload, "content_type", "") or "application/octet-stream"
            message.kind = kind_for_content_type(content_type, voice=voice).value
            message.attachment_content_type = content_type
            message.attachment_size = upload.size
            message.attachment_filename = upload.name
            message.attachment.save(upload.name, upload, save=False)
        message.save()
        _after_outbound(interaction, message)
        return message


def _after_outbound(interaction: Interaction, message: Message) -> None:
    from .tasks import deliver_message

    interaction.last_message_at = message.created_at
    interaction.last_message_direction = Interaction.Direction.OUT
    interaction.save(update_fields=["last_message_at", "last_message_direction"])
    publish(events.message_created(message), groups=_audience(interaction))
    publish(events.interaction_updated(interaction), groups=_audience(interaction))
    enqueue(deliver_message, message.pk)


def interaction_recontact(*, interaction_id: int, user: User) -> Message:
    """D7: send the account's recontact template on an open interaction whose window has closed."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = interaction_lock_owned(interaction_id, user)
        template = interaction.account.recontact_template
        if template is None or template.status != "approved":
            raise Conflict("no_recontact_template", "This account has no approved recontact template.")
        message = Message.objects.create(
            interaction=interaction,
            account=interaction.account,
            direction=Message.Direction.OUT,
            kind=MessageKind.TEMPLATE.value,
            text=template.render([]),
            template=template,
            template_params=[],
            status=Message.Status.QUEUED,
            created_at=now,
            sender=user,
        )
        history_record(interaction, "recontact", user, template=template.name)
        _after_outbound(interaction, message)
        return message


def public_media_url(message: Message) -> str:
    """A signed link the provider can fetch the attachment from (WhatsApp fetches media by URL)."""
    from django.core import signing
    from django.urls import reverse

    token = signing.dumps(message.pk, salt="instant.public-media")
    return settings.PUBLIC_BASE_URL + reverse("public-media", kwargs={"token": token})


def message_deliver(*, message_id: int) -> Message | None:
    """Hand a queued message to the provider; retry retryable errors with backoff, fail permanent ones."""
    from apps.providers.types import OutboundMedia, ProviderError, TemplateMessage

    message = Message.objects.select_related("interaction", "account", "template").get(pk=message_id)
    if message.status != Message.Status.QUEUED or message.provider_message_id:
        return message
    attempts = message.send_attempts
    # Claim this attempt so two workers running the same task never both send.
    if not Message.objects.filter(pk=message.pk, status=Message.Status.QUEUED, send_attempts=attempts).update(
        send_attempts=attempts + 1
    ):
        return None
    interaction = message.interaction
    to = interaction.customer_phone or interaction.customer_user_id
    backend = message.account.backend()
    try:
        if message.kind == MessageKind.TEMPLATE.value and message.template is not None:
            tpl = message.template
            result = backend.send_template(
                to=to,
                template=TemplateMessage(
                    name=tpl.name,
                    language=tpl.language,
                    body_params=list(message.template_params or []),
                    provider_template_id=tpl.provider_template_id,
                ),
            )
        elif message.attachment:
            content = None
            if backend.uploads_media:
                with message.attachment.open("rb") as fh:
                    content = fh.read()
            result = backend.send_media(
                to=to,
                media=OutboundMedia(
                    url=public_media_url(message),
                    content_type=message.attachment_content_type,
                    filename=message.attachment_filename,
                    kind=MessageKind(message.kind) if message.kind in MessageKind._value2member_map_ else MessageKind.DOCUMENT,
                    content=content,
                ),
                caption=message.text,
            )
        else:
            result = backend.send_text(to=to, text=message.text)
    except ProviderError as exc:
        return _send_failed(message, exc, attempts + 1)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        locked.provider_message_id = result.provider_message_id
        fields = ["provider_message_id"]
        if locked.status == Message.Status.QUEUED:
            locked.status = result.status.value if result.status != DeliveryStatus.QUEUED else Message.Status.SENT
            locked.status_at = timezone.now()
            fields += ["status", "status_at"]
        locked.save(update_fields=fields)
        publish(events.message_status(locked), groups=_audience(interaction))
        return locked


def _send_failed(message: Message, exc, attempts: int) -> Message:
    retry = not exc.permanent and attempts < settings.INSTANT_SEND_MAX_RETRIES
    with transaction.atomic():
        locked = Message.objects.select_for_update(of=("self",)).select_related("interaction").get(pk=message.pk)
        if retry:
            from .tasks import deliver_message

            delay = exc.retry_after if exc.retry_after is not None else settings.INSTANT_SEND_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
            locked.error_message = f"Retrying: {exc.message}"
            locked.save(update_fields=["error_message"])
            enqueue(deliver_message, locked.pk, countdown=delay)
            log.warning("send of message %s failed (%s); retry %s in %ss", locked.pk, exc, attempts, delay)
            return locked
        locked.status = Message.Status.FAILED
        locked.error_code = exc.code
        locked.error_message = exc.message
        locked.window_closed_error = exc.window_closed
        locked.status_at = timezone.now()
        locked.save(update_fields=["status", "error_code", "error_message", "window_closed_error", "status_at"])
        publish(events.message_status(locked), groups=_audience(locked.interaction))
        if exc.window_closed:
            _close_window(locked.interaction, now=timezone.now())
        return locked


def offers_withdraw_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent paused or went offline: their live offers go back to the queue."""
    now = now or timezone.now()
    offers = list(
        InteractionOffer.objects.select_for_update(of=("self",))
        .filter(agent=agent, status=InteractionOffer.Status.OFFERED)
        .select_related("interaction")
    )
    for offer in offers:
        offer.status = InteractionOffer.Status.WITHDRAWN
        offer.decided_at = now
        offer.save(update_fields=["status", "decided_at"])
        publish(events.offer_withdrawn(offer.interaction, "presence"), groups=[agent_group(agent.pk)])
        _publish_queue_stats(offer.interaction.queue_id)
    return len(offers)
