"""Routing (D2): offers to every online agent of the queue, the first accept wins, rejects and expiry."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.exceptions import Conflict, NotAllowed
from apps.users.models import User

from .. import events
from ..models import Interaction, InteractionOffer
from ..selectors import offer_preview
from .common import get_visible, history_record, publish_for, publish_queue_stats, publish_to_agents


def _eligible_agents(interaction: Interaction) -> list[User]:
    """Online agents of the queue with no live offer for it and no refusal since they came online."""
    agents = list(interaction.queue.agents.filter(is_active=True, presence=User.Presence.ONLINE))
    if not agents:
        return []
    offers = InteractionOffer.objects.filter(interaction=interaction, agent__in=agents).values_list(
        "agent_id", "status", "decided_at"
    )
    excluded = set()
    presence_since = {a.pk: a.presence_changed_at for a in agents}
    for agent_id, status, decided_at in offers:
        if status == InteractionOffer.Status.OFFERED:
            excluded.add(agent_id)
        # A refusal counts until the agent's presence changes (came back from a pause, say).
        elif status in (InteractionOffer.Status.REJECTED, InteractionOffer.Status.EXPIRED) and (
            decided_at is not None and decided_at >= presence_since[agent_id]
        ):
            excluded.add(agent_id)
    return [a for a in agents if a.pk not in excluded]

def offer_interaction(*, interaction: Interaction, now: datetime | None = None) -> list[InteractionOffer]:
    """Offer a waiting interaction to every eligible online agent of its queue (inside a transaction)."""
    if interaction.status != Interaction.Status.WAITING:
        return []
    now = now or timezone.now()
    expires = now + timedelta(seconds=interaction.queue.offer_timeout)
    offers = []
    serialized = None
    for agent in _eligible_agents(interaction):
        try:
            with transaction.atomic():
                offer = InteractionOffer.objects.create(interaction=interaction, agent=agent, expires_at=expires)
        except IntegrityError:  # offered concurrently already
            continue
        offers.append(offer)
        if serialized is None:
            serialized, preview = events.interaction_data(interaction), offer_preview(interaction)
        publish_to_agents(events.interaction_offered(interaction, offer, serialized=serialized, preview=preview), [agent.pk])
    if offers:
        history_record(interaction, "offered", agents=[o.agent_id for o in offers])
    return offers

def offers_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent came online: offer every waiting interaction of their queues."""
    count = 0
    queues = set()
    waiting = Interaction.objects.filter(status=Interaction.Status.WAITING, queue__agents=agent).order_by("started_at")
    for interaction in waiting:
        with transaction.atomic():
            locked = Interaction.objects.select_for_update().get(pk=interaction.pk)
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
        interaction.refresh_from_db()
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

def offers_withdraw_for_agent(*, agent: User, now: datetime | None = None) -> int:
    """An agent paused or went offline: their live offers go back to the queue."""
    now = now or timezone.now()
    offers = list(
        InteractionOffer.objects.select_for_update(of=("self",))
        .filter(agent=agent, status=InteractionOffer.Status.OFFERED)
        .select_related("interaction")
    )
    for offer in offers:
        offer.status = InteractionOffer.Status.WITHDRAWN
        offer.decided_at = now
        offer.save(update_fields=["status", "decided_at"])
        publish_to_agents(events.offer_withdrawn(offer.interaction, "presence"), [agent.pk])
        publish_queue_stats(offer.interaction.queue_id)
    return len(offers)


def presence_changed(*, agent: User, presence: str, previous: str, now: datetime) -> None:
    """Presence drives offers: away takes the agent's live offers back, online brings the waiting ones."""
    if presence != User.Presence.ONLINE:
        with transaction.atomic():
            offers_withdraw_for_agent(agent=agent, now=now)
    elif previous != presence:
        offers_for_agent(agent=agent, now=now)
