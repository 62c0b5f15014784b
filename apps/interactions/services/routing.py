"""Routing (D2): offers to every online agent of the queue, the first accept wins, rejects and expiry."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.exceptions import Conflict, NotAllowed
from apps.users.models import User

from .. import events
from ..models import Interaction, InteractionEvent, InteractionOffer
from ..selectors import offer_preview
from .common import (
    get_visible,
    history_line,
    history_record,
    history_save,
    publish_for,
    publish_queue_stats,
    publish_to_agents,
    read_once_per_batch,
    with_relations,
)


def reoffer_pause(now: datetime) -> datetime:
    """X2: a refusal or an expired offer counts for this long; then the interaction goes out again."""
    return now - timedelta(seconds=getattr(settings, "INSTANT_REOFFER_PAUSE_SECONDS", 30))


def agents_with_room(queryset):
    """``queryset`` of users narrowed to those below their ``max_open_interactions`` (X1)."""
    return queryset.annotate(
        open_now=Count("owned_interactions", filter=Q(owned_interactions__status=Interaction.Status.OPEN))
    ).filter(Q(max_open_interactions__isnull=True) | Q(open_now__lt=F("max_open_interactions")))


def at_capacity(agent: User) -> bool:
    if agent.max_open_interactions is None:
        return False
    owned = Interaction.objects.filter(owner=agent, status=Interaction.Status.OPEN).count()
    return owned >= agent.max_open_interactions


def _queue_agents_with_room(queue_id: int) -> list[User]:
    """The queue's online agents below their capacity, read once per batch (``read_once_per_batch``:
    offering changes neither presence nor capacity, and the grouped query was a seventh of a first
    message's CPU). Each interaction's own offers and refusals are still looked up."""

    def read() -> list[User]:
        online = User.objects.filter(queues=queue_id, is_active=True, presence=User.Presence.ONLINE)
        return list(agents_with_room(online))

    return list(read_once_per_batch(("queue-agents", queue_id), read))  # a copy: callers narrow it


def _eligible_agents(interaction: Interaction, now: datetime | None = None, *, fresh: bool = False) -> list[User]:
    """Online agents of the queue, below their capacity, with no live offer for it and no recent refusal.

    ``fresh``: the interaction was created in this transaction, so it has no offers to look up.
    """
    now = now or timezone.now()
    agents = _queue_agents_with_room(interaction.queue_id)
    if not agents or fresh:
        return agents
    offers = InteractionOffer.objects.filter(interaction=interaction, agent__in=agents).values_list(
        "agent_id", "status", "decided_at"
    )
    excluded = set()
    presence_since = {a.pk: a.presence_changed_at for a in agents}
    pause_since = reoffer_pause(now)
    for agent_id, status, decided_at in offers:
        if status == InteractionOffer.Status.OFFERED:
            excluded.add(agent_id)
        # A refusal counts until the agent's presence changes (came back from a pause, say) or the
        # re-offer pause has passed (X2: nothing stays stranded because everyone said no once).
        elif status in (InteractionOffer.Status.REJECTED, InteractionOffer.Status.EXPIRED) and (
            decided_at is not None and decided_at >= presence_since[agent_id] and decided_at > pause_since
        ):
            excluded.add(agent_id)
    return [a for a in agents if a.pk not in excluded]


def _offers_insert(offers: list[InteractionOffer], *, fresh: bool) -> list[InteractionOffer]:
    """All offers in one INSERT. Callers hold the interaction's row lock, so a live offer made
    meanwhile is rare (an agent's own offers_for_agent racing a sweep): then one by one, each in a
    savepoint, keeping those that go in. A fresh interaction is invisible to others: no race at all."""
    if fresh:
        return InteractionOffer.objects.bulk_create(offers)
    try:
        with transaction.atomic():
            return InteractionOffer.objects.bulk_create(offers)
    except IntegrityError:
        made = []
        for offer in offers:
            offer.pk = None
            try:
                with transaction.atomic():
                    offer.save(force_insert=True)
            except IntegrityError:  # offered concurrently already
                continue
            made.append(offer)
        return made


def offer_interaction(
    *,
    interaction: Interaction,
    now: datetime | None = None,
    fresh: bool = False,
    preview: str | None = None,
    history: list[InteractionEvent] | None = None,
) -> list[InteractionOffer]:
    """Offer a waiting interaction to every eligible online agent of its queue (inside a transaction).

    ``fresh``: created in this transaction (no offers yet); ``preview``: the offer card's text when the
    caller has the first message at hand; ``history``: the caller saves the ``offered`` line with its own.
    """
    if interaction.status != Interaction.Status.WAITING:
        return []
    now = now or timezone.now()
    expires = now + timedelta(seconds=interaction.queue.offer_timeout)
    agents = _eligible_agents(interaction, now, fresh=fresh)
    if not agents:
        return []
    offers = _offers_insert(
        [InteractionOffer(interaction=interaction, agent=agent, expires_at=expires) for agent in agents], fresh=fresh
    )
    if not offers:
        return []
    # One serialisation for every offer: the interaction is the same object in each.
    serialized = events.interaction_data(interaction)
    preview = offer_preview(interaction) if preview is None else preview
    for offer in offers:
        publish_to_agents(
            events.interaction_offered(interaction, offer, serialized=serialized, preview=preview), [offer.agent_id]
        )
    line = history_line(interaction, "offered", agents=[o.agent_id for o in offers])
    if history is None:
        history_save([line])
    else:
        history.append(line)
    return offers

def offers_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent came online: offer every waiting interaction of their queues."""
    count = 0
    queues = set()
    waiting = Interaction.objects.filter(status=Interaction.Status.WAITING, queue__agents=agent).order_by("started_at")
    for interaction in waiting:
        with transaction.atomic():
            locked = with_relations(Interaction.objects.select_for_update(of=("self",))).get(pk=interaction.pk)
            count += len(offer_interaction(interaction=locked, now=now))
            queues.add(locked.queue_id)
    for queue_id in queues:
        publish_queue_stats(queue_id)
    return count

def interaction_accept(*, interaction_id: int, user: User) -> Interaction:
    """D2: the first accept wins, settled by one conditional UPDATE; every other accept gets 409."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = get_visible(interaction_id, user)
        if not user.queues.filter(pk=interaction.queue_id).exists() and not InteractionOffer.objects.filter(
            interaction_id=interaction_id, agent=user, status=InteractionOffer.Status.OFFERED
        ).exists():
            raise NotAllowed("not_queue_member", "You are not an agent of this interaction's queue.")
        if at_capacity(user):
            raise Conflict(
                "at_capacity",
                f"You already have {user.max_open_interactions} open conversations: close one first.",
            )
        won = Interaction.objects.filter(
            pk=interaction_id, status=Interaction.Status.WAITING, owner__isnull=True
        ).update(
            status=Interaction.Status.OPEN,
            owner=user,
            first_agent=Coalesce("first_agent", user.pk),
            accepted_at=now,
        )
        if not won:
            raise Conflict("already_taken", "Another agent has already taken this interaction.")
        # Read the row back as the UPDATE left it, with what its events show in the same two queries
        # (a bare refresh_from_db would drop the related objects and let the serializer read each again).
        interaction = with_relations(Interaction.objects).get(pk=interaction_id)
        InteractionOffer.objects.filter(
            interaction=interaction, agent=user, status=InteractionOffer.Status.OFFERED
        ).update(status=InteractionOffer.Status.ACCEPTED, decided_at=now)
        others = list(
            InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED)
            .values_list("agent_id", flat=True)
        )
        InteractionOffer.objects.filter(interaction=interaction, status=InteractionOffer.Status.OFFERED).update(
            status=InteractionOffer.Status.TAKEN, decided_at=now
        )
        history_record(interaction, "accepted", user)
        publish_to_agents(events.interaction_taken(interaction, user), others)
        if at_capacity(user):
            _offers_withdraw(agent=user, now=now, reason="capacity")
        publish_for(interaction, events.interaction_assigned(interaction))
        publish_queue_stats(interaction.queue_id)
        return interaction

def interaction_reject(*, interaction_id: int, user: User) -> Interaction:
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = get_visible(interaction_id, user)
        updated = InteractionOffer.objects.filter(
            interaction=interaction, agent=user, status=InteractionOffer.Status.OFFERED
        ).update(status=InteractionOffer.Status.REJECTED, decided_at=now)
        if not updated:
            if user.is_supervisor_or_admin and interaction.owner_id != user.pk:
                raise NotAllowed("read_only", "Supervisors follow other agents' conversations read-only.")
            if interaction.status != Interaction.Status.WAITING:
                raise Conflict("already_taken", "This interaction is no longer waiting.")
            raise Conflict("no_offer", "You have no offer for this interaction.")
        history_record(interaction, "rejected", user)
        publish_to_agents(events.offer_withdrawn(interaction, "rejected"), [user.pk])
        publish_queue_stats(interaction.queue_id)
        return interaction

def offers_expire(*, now: datetime | None = None) -> int:
    """Withdraw offers nobody answered in time; then offer waiting interactions to whoever is eligible."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            offer = (
                InteractionOffer.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=InteractionOffer.Status.OFFERED, expires_at__lte=now)
                .select_related("interaction")
                .first()
            )
            if offer is None:
                break
            offer.status = InteractionOffer.Status.EXPIRED
            offer.decided_at = now
            offer.save(update_fields=["status", "decided_at"])
            publish_to_agents(events.offer_withdrawn(offer.interaction, "expired"), [offer.agent_id])
            publish_queue_stats(offer.interaction.queue_id)
            count += 1
    return count

def _offers_withdraw(*, agent: User, now: datetime, reason: str) -> int:
    offers = list(
        InteractionOffer.objects.select_for_update(of=("self",))
        .filter(agent=agent, status=InteractionOffer.Status.OFFERED)
        .select_related("interaction")
    )
    for offer in offers:
        offer.status = InteractionOffer.Status.WITHDRAWN
        offer.decided_at = now
        offer.save(update_fields=["status", "decided_at"])
        publish_to_agents(events.offer_withdrawn(offer.interaction, reason), [agent.pk])
        publish_queue_stats(offer.interaction.queue_id)
    return len(offers)


def offers_withdraw_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent paused or went offline: their live offers go back to the queue."""
    return _offers_withdraw(agent=agent, now=now or timezone.now(), reason="presence")


def offer_next_after_close(*, interaction: Interaction, now: datetime) -> None:
    """X1: the owner has room again: the oldest waiting interaction of their queues goes out.

    Runs inside the closing transaction (an ``on_close`` hook), so the offer leaves with the close.
    """
    if interaction.owner_id is None:
        return
    agent = User.objects.filter(pk=interaction.owner_id, is_active=True, presence=User.Presence.ONLINE).first()
    if agent is None or at_capacity(agent):
        return
    waiting = (
        Interaction.objects.filter(status=Interaction.Status.WAITING, queue__in=agent.queues.values("pk"))
        .exclude(offers__agent=agent, offers__status=InteractionOffer.Status.OFFERED)
        .order_by("started_at", "id")
        .values_list("pk", flat=True)[:20]
    )
    for pk in waiting:
        locked = (
            with_relations(Interaction.objects.select_for_update(of=("self",)))
            .filter(pk=pk, status=Interaction.Status.WAITING)
            .first()
        )
        if locked is None:
            continue
        offers = offer_interaction(interaction=locked, now=now)
        if offers:
            publish_queue_stats(locked.queue_id)
        if any(o.agent_id == agent.pk for o in offers):
            return


# How many stranded interactions one sweep offers again: the next sweep takes the rest.
REOFFER_BATCH = 200


def interactions_reoffer(*, now: datetime | None = None) -> int:
    """X2, on the deadline sweep: a waiting interaction with no live offer, whose last refusal or
    expiry is older than the pause, goes out again to every eligible agent of its queue."""
    now = now or timezone.now()
    live = InteractionOffer.objects.filter(interaction=OuterRef("pk"), status=InteractionOffer.Status.OFFERED)
    # Only queues where someone could take it: a queue nobody is online in costs nothing each sweep.
    staffed = User.objects.filter(is_active=True, presence=User.Presence.ONLINE).values("queues")
    candidates = list(
        Interaction.objects.filter(status=Interaction.Status.WAITING, queue__in=staffed)
        .annotate(last_decided=Max("offers__decided_at"))
        .filter(~Exists(live), Q(last_decided__isnull=True) | Q(last_decided__lte=reoffer_pause(now)))
        .order_by("started_at", "id")
        .values_list("pk", flat=True)[:REOFFER_BATCH]
    )
    count = 0
    for pk in candidates:
        with transaction.atomic():
            locked = (
                with_relations(Interaction.objects.select_for_update(skip_locked=True, of=("self",)))
                .filter(pk=pk, status=Interaction.Status.WAITING)
                .first()
            )
            if locked is None:
                continue
            offers = offer_interaction(interaction=locked, now=now)
            if offers:
                count += 1
                publish_queue_stats(locked.queue_id)
    return count


def presence_changed(*, agent: User, presence: str, previous: str, now: datetime) -> None:
    """Presence drives offers: away takes the agent's live offers back, online brings the waiting ones."""
    if presence != User.Presence.ONLINE:
        with transaction.atomic():
            offers_withdraw_for_agent(agent=agent, now=now)
    elif previous != presence:
        offers_for_agent(agent=agent, now=now)
