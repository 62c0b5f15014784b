"""What every use case of interactions shares: states, history, queue counters, visibility, locks."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q

from apps.core.audience import publish_event
from apps.core.exceptions import Conflict, NotAllowed, ServiceError
from apps.users.models import User

from .. import events
from ..models import Interaction, InteractionEvent, InteractionOffer
from ..selectors import interaction_list_for

WINDOW = timedelta(hours=24)
OPEN_STATES = (Interaction.Status.WAITING, Interaction.Status.OPEN)

# Apps above interactions that must act when one closes (transfers cancel theirs) register here
# from their AppConfig.ready(), so this package never imports them.
close_hooks: list[Callable[..., object]] = []


def on_close(hook: Callable[..., object]) -> None:
    """``hook(interaction=..., now=...)`` runs inside the transaction that closes an interaction."""
    if hook not in close_hooks:
        close_hooks.append(hook)


def publish_for(interaction: Interaction, event: dict) -> None:
    """An event about what happens inside ``interaction`` (audience: its owner and its watchers)."""
    publish_event(event, interaction_id=interaction.pk, owner_id=interaction.owner_id)


def publish_to_agents(event: dict, agent_ids) -> None:
    publish_event(event, agent_ids=list(agent_ids))


def queue_stats(queue_id: int) -> dict[str, int]:
    """The queue's counters in one query (CONTRACT ``board/``: ``offered`` are the waiting ones with
    at least one live offer; accepting or closing withdraws every live offer, so no other has any)."""
    live = InteractionOffer.objects.filter(interaction=OuterRef("pk"), status=InteractionOffer.Status.OFFERED)
    waiting = Q(status=Interaction.Status.WAITING)
    counts = Interaction.objects.filter(queue_id=queue_id, status__in=OPEN_STATES).aggregate(
        waiting=Count("id", filter=waiting),
        offered=Count("id", filter=waiting & Q(Exists(live))),
        open=Count("id", filter=Q(status=Interaction.Status.OPEN)),
    )
    return {"waiting": counts["waiting"] or 0, "offered": counts["offered"] or 0, "open": counts["open"] or 0}


def publish_queue_stats(queue_id: int) -> None:
    publish_event(events.queue_stats(queue_id, queue_stats(queue_id)), queue_id=queue_id)


def history_line(interaction: Interaction | int, kind: str, actor: User | None = None, **data) -> InteractionEvent:
    """One line of the interaction's history (who was offered it, took it, transferred it...), unsaved."""
    interaction_id = interaction if isinstance(interaction, int) else interaction.pk
    return InteractionEvent(interaction_id=interaction_id, kind=kind, actor=actor, data=data)


def history_record(interaction: Interaction | int, kind: str, actor: User | None = None, **data) -> None:
    history_line(interaction, kind, actor, **data).save()


def history_save(lines: list[InteractionEvent]) -> None:
    """Several lines of one use case in one INSERT (in order: ids follow the list)."""
    if lines:
        InteractionEvent.objects.bulk_create(lines)


def known_empty_tags(interaction: Interaction) -> Interaction:
    """An interaction created in this transaction has no tags yet: say so, so that serialising it for
    its events does not ask the database (the same cache ``prefetch_related("tags")`` fills)."""
    tags = Interaction.tags.field.related_model.objects.none()  # never reaches the database
    interaction._prefetched_objects_cache = {**getattr(interaction, "_prefetched_objects_cache", {}), "tags": tags}
    return interaction


def with_relations(queryset):
    """What an interaction's events serialise besides its own row, read along with it."""
    return queryset.select_related("account", "queue", "contact", "owner", "first_agent", "disposition").prefetch_related(
        "tags"
    )


def get_visible(interaction_id: int, user: User) -> Interaction:
    try:
        return interaction_list_for(user).select_related("account", "queue").get(pk=interaction_id)
    except Interaction.DoesNotExist:
        raise ServiceError("not_found", "No such interaction.", status=404) from None


def interaction_lock_owned(interaction_id: int, user: User) -> Interaction:
    """Lock an open interaction the caller owns (inside a transaction), or raise why not."""
    interaction = get_visible(interaction_id, user)
    # Lock the interaction row only: joining account and queue must not serialise a whole queue.
    interaction = Interaction.objects.select_for_update(of=("self",)).select_related("account", "queue").get(pk=interaction.pk)
    if interaction.status == Interaction.Status.CLOSED:
        raise Conflict("interaction_closed", "This interaction is closed.")
    if interaction.owner_id != user.pk:
        # S1: a supervisor follows other agents' conversations read-only (they write notes only).
        if user.is_supervisor_or_admin:
            raise NotAllowed("read_only", "Supervisors follow other agents' conversations read-only.")
        raise Conflict("not_owner", "Only the agent who owns this interaction can do that.")
    return interaction


# ----- what a batch reads once -------------------------------------------------------------------------
_batch_memo: ContextVar[dict | None] = ContextVar("instant_batch_memo", default=None)


@contextmanager
def batch_memo_scope() -> Iterator[None]:
    """A block that receives many messages in one transaction (a batch of webhooks, issue 11): what
    does not change within it (a queue's online agents, whether an account has campaign sends waiting
    for replies) is read once, through ``read_once_per_batch``."""
    token = _batch_memo.set({})
    try:
        yield
    finally:
        _batch_memo.reset(token)


def in_batch() -> bool:
    return _batch_memo.get() is not None


def read_once_per_batch(key: tuple, read: Callable[[], object]):
    """``read()``, remembered under ``key`` for the rest of the current batch; outside a batch, read."""
    memo = _batch_memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]
