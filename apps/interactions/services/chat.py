"""The chat (D3, D4, D5, D7): reading, notes, the agent's messages, recontact, and closing."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Conflict, Invalid, NotAllowed
from apps.core.models import InstallationSettings
from apps.providers.types import MessageKind, kind_for_content_type
from apps.users.models import User

from .. import events
from ..models import TEXT_MAX_LENGTH, Interaction, InteractionOffer, Message, Note
from .common import close_hooks, get_visible, history_record, interaction_lock_owned, publish_for, publish_queue_stats, publish_to_agents
from .delivery import message_queue_send


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
        publish_for(interaction, events.interaction_updated(interaction))
        return interaction


def note_create(*, interaction_id: int, user: User, text: str) -> Note:
    text = (text or "").strip()
    if not text:
        raise Invalid("empty_note", "A note needs some text.")
    with transaction.atomic(durable=True):
        interaction = get_visible(interaction_id, user)
        if user.is_supervisor_or_admin and interaction.owner_id != user.pk:
            kind = Note.Kind.SUPERVISOR
        elif interaction.owner_id == user.pk:
            kind = Note.Kind.AGENT
        else:
            raise Conflict("not_owner", "Only the owner or a supervisor can add notes.")
        note = Note.objects.create(interaction=interaction, author=user, kind=kind, text=text)
        publish_for(interaction, events.note_created(note))
        return note


def interaction_close(*, interaction_id: int, user: User, disposition_id: int | None = None) -> Interaction:
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = get_visible(interaction_id, user)
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
        publish_to_agents(events.offer_withdrawn(interaction, "closed"), live)
        for hook in close_hooks:
            hook(interaction=interaction, now=now)
        history_record(interaction, "closed", user, disposition=disposition.name if disposition else None)
        publish_for(interaction, events.interaction_closed(interaction))
        publish_queue_stats(interaction.queue_id)
        return interaction


def _attachment_limits_check(upload) -> None:
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
    if len(text) > TEXT_MAX_LENGTH:
        raise Invalid("text_too_long", f"WhatsApp takes at most {TEXT_MAX_LENGTH} characters; this text has {len(text)}.")
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
        message_queue_send(interaction, message)
        return message


def interaction_recontact(*, interaction_id: int, user: User) -> Message:
    """D7: send the account's recontact template on an open interaction whose window has closed."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = interaction_lock_owned(interaction_id, user)
        template = interaction.account.recontact_template
        if template is None or template.status != "approved":
            raise Conflict("no_recontact_template", "This account has no approved recontact template.")
        # The parameters come from the contact by the admin's mapping (the template's contact_params).
        params = template.params_for_contact(interaction.contact, fallback_name=interaction.customer_name)
        if any(not value.strip() for value in params):
            raise Conflict(
                "recontact_params_missing",
                "The contact lacks a field the recontact template needs: fill in the contact first.",
            )
        message = Message.objects.create(
            interaction=interaction,
            account=interaction.account,
            direction=Message.Direction.OUT,
            kind=MessageKind.TEMPLATE.value,
            text=template.render(params),
            template=template,
            template_params=params,
            status=Message.Status.QUEUED,
            created_at=now,
            sender=user,
        )
        history_record(interaction, "recontact", user, template=template.name)
        message_queue_send(interaction, message)
        return message
