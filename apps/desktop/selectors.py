from __future__ import annotations

from apps.core.realtime import SUPERVISORS_GROUP, agent_group, queue_group
from apps.queues.models import Queue


def desktop_groups_for(user) -> list[str]:
    """The groups a desktop joins: its agent, its queues, and the board for supervisors."""
    groups = [agent_group(user.pk)]
    queues = Queue.objects.all() if user.is_supervisor_or_admin else user.queues.all()
    groups += [queue_group(q) for q in queues.values_list("pk", flat=True)]
    if user.is_supervisor_or_admin:
        groups.append(SUPERVISORS_GROUP)
    return groups
