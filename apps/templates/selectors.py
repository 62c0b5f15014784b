"""Permission-aware reads of templates: admins and supervisors read them all; an agent reads the
approved ones of its queues' accounts (CONTRACT.md ``templates/``)."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.queues.models import Queue

from .models import Template


def template_list_for(user) -> QuerySet[Template]:
    qs = Template.objects.select_related("account").order_by("name", "language", "id")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_superuser or getattr(user, "role", None) in ("supervisor", "admin"):
        return qs
    my_queues = Queue.objects.filter(agents=user).values("pk")
    return qs.filter(status=Template.Status.APPROVED, account__queue__in=my_queues)


def templates_for_agents(user, *, account_id: int) -> QuerySet[Template]:
    """What the desktop's "+" offers: approved and available for agents, on one account (D8)."""
    return template_list_for(user).filter(
        account_id=account_id, status=Template.Status.APPROVED, available_for_agents=True
    )
