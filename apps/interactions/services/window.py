"""The 24-hour customer service window (D7): it closes, the provider may close it, a template opens it."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import events
from ..models import Interaction
from .common import OPEN_STATES, WINDOW, publish_for


def recontact_available(interaction: Interaction) -> bool:
    template = interaction.account.recontact_template
    return template is not None and template.status == "approved"


def window_close(interaction: Interaction, *, now: datetime) -> None:
    """The provider says the window has closed: believe it, whatever our own clock said."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.window_expires_at is None or interaction.window_expires_at > now:
        interaction.window_expires_at = now
    interaction.window_expiry_announced = True
    interaction.save(update_fields=["window_expires_at", "window_expiry_announced"])
    if interaction.status != Interaction.Status.CLOSED:
        publish_for(interaction, events.window_expired(interaction, recontact_available=recontact_available(interaction)))


def window_open_from_template(interaction: Interaction, *, delivered_at: datetime) -> None:
    """Campaign and agent-started interactions: 24 h from the template's delivery, until the customer writes."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.last_inbound_at is not None and interaction.last_inbound_at >= delivered_at - WINDOW:
        return
    expires = delivered_at + WINDOW
    if interaction.window_expires_at is None or expires > interaction.window_expires_at:
        interaction.window_expires_at = expires
        interaction.window_expiry_announced = False
        interaction.save(update_fields=["window_expires_at", "window_expiry_announced"])
        publish_for(interaction, events.interaction_updated(interaction))


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
            publish_for(interaction, events.window_expired(interaction, recontact_available=recontact_available(interaction)))
            count += 1
    return count
