"""Permission-aware reads of interactions (R1: an agent sees only its queues' interactions)."""
from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.queues.models import Queue

from .models import Interaction, Message


def user_sees_everything(user) -> bool:
    return bool(user and (user.is_superuser or getattr(user, "role", None) in ("supervisor", "admin")))


def interaction_list_for(user) -> QuerySet[Interaction]:
    """Admins and supervisors see every interaction; agents those of their queues and their own."""
    qs = Interaction.objects.select_related(
        "account", "queue", "contact", "owner", "first_agent", "disposition"
    ).prefetch_related("tags")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user_sees_everything(user):
        return qs
    # A subquery rather than a join on queue__agents: no duplicate rows, so no DISTINCT, and callers
    # may still lock or update the result.
    my_queues = Queue.objects.filter(agents=user).values("pk")
    return qs.filter(Q(queue__in=my_queues) | Q(owner=user))


def message_list_for(user) -> QuerySet[Message]:
    visible = interaction_list_for(user).values("pk")
    return Message.objects.filter(interaction__in=visible).select_related("sender", "template")


def offer_preview(interaction: Interaction) -> str:
    """What the customer opened with, for the offer card."""
    first = interaction.messages.filter(direction="in").order_by("created_at", "id").first()
    if first is None:
        return ""
    return first.text[:200] if first.text else f"[{first.kind}]"
