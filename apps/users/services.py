"""Writes on users. Presence changes also drive offers (see apps.interactions.routing)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Invalid

from .models import User


def user_set_presence(*, user: User, presence: str) -> User:
    if presence not in User.Presence.values:
        raise Invalid("invalid_presence", f"Presence must be one of: {', '.join(User.Presence.values)}.")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(presence=presence, presence_changed_at=timezone.now())
        user.presence = presence
    return user
