"""The realtime board (B7, S3): per queue and per agent counts, read in one go from the rows.

Every number is counted from the database when the board is read, never kept as a running counter,
so concurrent accepts, closes and offers cannot make it drift: a board read after they commit is
right by construction. ``board/`` serves it, and supervisors' sockets push it as ``board.updated``
(see ``apps.desktop.consumers``).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from apps.queues.models import Queue
from apps.users.models import User

from .models import Interaction, InteractionOffer, Message

# "Waiting over the last hour": one point every five minutes, oldest first, the last one is now.
HISTORY_SPAN = timedelta(hours=1)
HISTORY_STEP = timedelta(minutes=5)


def _history_points(now: datetime) -> list[datetime]:
    steps = int(HISTORY_SPAN / HISTORY_STEP)
    return [now - HISTORY_STEP * (steps - i) for i in range(steps + 1)]


def _waiting_history(now: datetime) -> dict[int, list[int]]:
    """How many interactions of each queue were waiting at each point of the last hour.

    An interaction waits from ``started_at`` until an agent takes it (``accepted_at``) or it is
    closed untaken; transfers to a queue are not counted as waiting again.
    """
    since = now - HISTORY_SPAN
    rows = Interaction.objects.filter(started_at__lte=now).filter(
        Q(status=Interaction.Status.WAITING)
        | Q(accepted_at__gte=since)
        | Q(accepted_at__isnull=True, closed_at__gte=since)
    ).values_list("queue_id", "started_at", "accepted_at", "closed_at")
    points = _history_points(now)
    history: dict[int, list[int]] = defaultdict(lambda: [0] * len(points))
    for queue_id, started, accepted, closed in rows:
        end = accepted or closed
        counts = history[queue_id]
        for index, at in enumerate(points):
            if started <= at and (end is None or end > at):
                counts[index] += 1
    return history


def board_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """The ``board/`` object (CONTRACT.md), with extras: waits, a waiting history, last activity."""
    now = now or timezone.now()
    queues = list(Queue.objects.order_by("name").values("id", "name"))
    by_status: dict[tuple[int, str], dict] = {
        (row["queue_id"], row["status"]): row
        for row in Interaction.objects.filter(status__in=(Interaction.Status.WAITING, Interaction.Status.OPEN))
        .values("queue_id", "status")
        .annotate(n=Count("id"), oldest=Min("started_at"))
    }
    offered = dict(
        InteractionOffer.objects.filter(
            status=InteractionOffer.Status.OFFERED, interaction__status=Interaction.Status.WAITING
        )
        .values("interaction__queue_id")
        .annotate(n=Count("interaction_id", distinct=True))
        .values_list("interaction__queue_id", "n")
    )
    # Average wait of what agents took in the last hour (taken - arrived), per queue.
    waits: dict[int, list[float]] = defaultdict(list)
    for queue_id, started, accepted in Interaction.objects.filter(
        accepted_at__gte=now - HISTORY_SPAN, accepted_at__lte=now
    ).values_list("queue_id", "started_at", "accepted_at"):
        waits[queue_id].append(max(0.0, (accepted - started).total_seconds()))
    history = _waiting_history(now)

    open_by_agent = dict(
        Interaction.objects.filter(status=Interaction.Status.OPEN, owner__isnull=False)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    members: dict[int, list[int]] = defaultdict(list)
    for queue_id, user_id in Queue.agents.through.objects.values_list("queue_id", "user_id"):
        members[user_id].append(queue_id)
    agents = list(
        User.objects.filter(is_active=True)
        .filter(Q(role=User.Role.AGENT) | Q(pk__in=list(members)))
        .order_by("username")
        .values("id", "username", "first_name", "last_name", "presence", "presence_changed_at", "max_open_interactions")
    )
    agent_ids = [a["id"] for a in agents]
    last_sent = dict(
        Message.objects.filter(sender_id__in=agent_ids, created_at__gte=now - timedelta(days=1))
        .values("sender_id")
        .annotate(at=Max("created_at"))
        .values_list("sender_id", "at")
    )
    last_taken = dict(
        Interaction.objects.filter(owner_id__in=agent_ids, accepted_at__isnull=False)
        .values("owner_id")
        .annotate(at=Max("accepted_at"))
        .values_list("owner_id", "at")
    )

    queue_rows = []
    for q in queues:
        waiting = by_status.get((q["id"], Interaction.Status.WAITING), {})
        opened = by_status.get((q["id"], Interaction.Status.OPEN), {})
        in_queue = [a for a in agents if q["id"] in members.get(a["id"], ())]
        online = [a for a in in_queue if a["presence"] == User.Presence.ONLINE]
        oldest = waiting.get("oldest")
        queue_waits = waits.get(q["id"], [])
        queue_rows.append(
            {
                "id": q["id"],
                "name": q["name"],
                "waiting": waiting.get("n", 0),
                "offered": offered.get(q["id"], 0),
                "open": opened.get("n", 0),
                "agents_online": len(online),
                "agents_paused": sum(1 for a in in_queue if a["presence"] == User.Presence.PAUSED),
                "agents_busy": sum(1 for a in online if open_by_agent.get(a["id"], 0) > 0),
                "oldest_waiting_since": oldest.isoformat() if oldest else None,
                "longest_wait": int((now - oldest).total_seconds()) if oldest else 0,
                "average_wait": int(sum(queue_waits) / len(queue_waits)) if queue_waits else None,
                "waiting_history": list(history.get(q["id"], [0] * len(_history_points(now)))),
            }
        )
    agent_rows = []
    for a in agents:
        activity = [t for t in (a["presence_changed_at"], last_sent.get(a["id"]), last_taken.get(a["id"])) if t]
        agent_rows.append(
            {
                "id": a["id"],
                "username": a["username"],
                "display_name": f"{a['first_name']} {a['last_name']}".strip() or a["username"],
                "presence": a["presence"],
                "open_interactions": open_by_agent.get(a["id"], 0),
                "max_open_interactions": a["max_open_interactions"],
                "queues": sorted(members.get(a["id"], [])),
                "last_activity": max(activity).isoformat() if activity else None,
            }
        )
    return {
        "queues": queue_rows,
        "agents": agent_rows,
        "generated_at": now.isoformat(),
        "history_step_seconds": int(HISTORY_STEP.total_seconds()),
    }


def board_updated(board: dict[str, Any]) -> dict[str, Any]:
    return {"type": "board.updated", "data": board}
