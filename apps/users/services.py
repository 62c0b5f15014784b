"""Writes on users. Presence drives offers and transfers, through hooks their apps register."""
from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.audience import publish_event
from apps.core.exceptions import Conflict, Invalid

from .models import User

# ``hook(agent=, presence=, previous=, now=)`` runs after the presence change commits. Interactions
# and transfers register theirs in AppConfig.ready(), so users never imports the apps above it.
presence_hooks: list[Callable[..., object]] = []


def on_presence(hook: Callable[..., object]) -> None:
    if hook not in presence_hooks:
        presence_hooks.append(hook)


def user_set_presence(*, user: User, presence: str) -> User:
    if presence not in User.Presence.values:
        raise Invalid("invalid_presence", f"Presence must be one of: {', '.join(User.Presence.values)}.")
    now = timezone.now()
    with transaction.atomic():
        previous = User.objects.select_for_update().values_list("presence", flat=True).get(pk=user.pk)
        User.objects.filter(pk=user.pk).update(presence=presence, presence_changed_at=now)
        user.presence = presence
        user.presence_changed_at = now
        publish_event(
            {"type": "agent.presence", "data": {"user_id": user.pk, "username": user.username, "presence": presence}},
            agent_ids=[user.pk],
        )
    for hook in presence_hooks:
        hook(agent=user, presence=presence, previous=previous, now=now)
    return user


# ----- keeping the installation administrable --------------------------------------------------------
def is_admin(user: User) -> bool:
    return bool(user.is_active and (user.role == User.Role.ADMIN or user.is_superuser))


def _active_admins():
    return User.objects.filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True), is_active=True)


def is_last_admin(user: User) -> bool:
    return is_admin(user) and not _active_admins().exclude(pk=user.pk).exists()


def admins_keep_check(*, losing: list[User], actor: User | None) -> None:
    """Refuse to let ``losing`` (users about to be deleted, deactivated or demoted) take the last
    active administrator with them, or an administrator's own rights (they could not undo it).

    Call it inside the transaction that makes the change: it locks the administrators' rows, so
    two administrators removing each other at once cannot both succeed.
    """
    losing_ids = {user.pk for user in losing if user.pk is not None}
    admins = set(_active_admins().select_for_update().values_list("pk", flat=True))
    if not losing_ids & admins:
        return
    if not admins - losing_ids:
        raise Conflict(
            "last_admin",
            "This is the last active administrator: make another user an administrator first.",
        )
    if actor is not None and actor.pk in losing_ids & admins:
        raise Conflict(
            "own_admin_rights",
            "You cannot delete, deactivate or demote your own account; ask another administrator.",
        )


def _loses_admin(user: User, changes: dict) -> bool:
    """Whether applying ``changes`` (field -> new value) leaves an active administrator without the role."""
    role = changes.get("role", user.role)
    superuser = changes.get("is_superuser", user.is_superuser)
    active = changes.get("is_active", user.is_active)
    return not (active and (role == User.Role.ADMIN or superuser))


def user_admin_change_check(*, user: User, changes: dict, actor: User | None) -> None:
    """``admins_keep_check`` for an edit of one user; run inside the edit's transaction."""
    if user.pk is not None and _loses_admin(user, changes):
        admins_keep_check(losing=[user], actor=actor)


def user_delete(*, users: list[User], actor: User | None) -> None:
    """Delete users, never the last active administrator nor the caller (409)."""
    with transaction.atomic():
        admins_keep_check(losing=users, actor=actor)
        User.objects.filter(pk__in=[user.pk for user in users]).delete()

