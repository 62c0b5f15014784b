"""Writes on users. Presence drives offers: coming online brings the waiting interactions."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Invalid
from apps.core.realtime import SUPERVISORS_GROUP, agent_group, publish

from .models import User


def user_set_presence(*, user: User, presence: str) -> User:
    if presence not in User.Presence.values:
        raise Invalid("invalid_presence", f"Presence must be one of: {', '.join(User.Presence.values)}.")
    from apps.interactions.services import offers_for_agent, offers_withdraw_for_agent

    now = timezone.now()
    with transaction.atomic():
        previous = User.objects.select_for_update().values_list("presence", flat=True).get(pk=user.pk)
        User.objects.filter(pk=user.pk).update(presence=presence, presence_changed_at=now)
        user.presence = presence
        user.presence_changed_at = now
        if presence != User.Presence.ONLINE:
            offers_withdraw_for_agent(agent=user, now=now)
        publish(
            {"type": "agent.presence", "data": {"user_id": user.pk, "username": user.username, "presence": presence}},
            groups=[agent_group(user.pk), SUPERVISORS_GROUP],
        )
    if presence == User.Presence.ONLINE and previous != presence:
        from apps.transfers.services import transfers_offer_to_agent

        offers_for_agent(agent=user, now=now)
        transfers_offer_to_agent(agent=user)
    return user
