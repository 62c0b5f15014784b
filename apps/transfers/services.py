"""Use cases of transfers (D6): to an online agent or to a queue, with a stored deadline.

Until a target accepts, the interaction stays with the agent who asked. Acceptance is settled
like an offer: one conditional UPDATE on the pending row, so across a queue the first accept wins.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.exceptions import Conflict, Invalid, NotAllowed, ServiceError
from apps.core.models import InstallationSettings
from apps.core.audience import publish_event
from apps.interactions import events as interaction_events
from apps.interactions.models import Interaction
from apps.interactions.services import history_record, interaction_lock_owned
from apps.queues.models import Queue
from apps.users.models import User

from .events import transfer_event
from .models import Transfer

log = logging.getLogger(__name__)


def _publish(transfer: Transfer, event: dict, *, targets: bool = True) -> None:
    """A transfer's news: the asking agent, the interaction's watchers, and (``targets``) whoever it was offered to."""
    agents = list(transfer.offered_to.values_list("pk", flat=True)) if targets else []
    publish_event(event, interaction_id=transfer.interaction_id, owner_id=transfer.from_agent_id, agent_ids=agents)


def _history(transfer: Transfer, kind: str, actor: User | None, **data) -> None:
    history_record(transfer.interaction_id, f"transfer_{kind}", actor, transfer=transfer.pk, **data)


def _online_agents(queue: Queue, exclude: int):
    return queue.agents.filter(is_active=True, presence=User.Presence.ONLINE).exclude(pk=exclude)


def transfer_request(
    *, interaction_id: int, user: User, to_agent_id: int | None = None, to_queue_id: int | None = None
) -> Transfer:
    config = InstallationSettings.load()
    if config.transfers == InstallationSettings.Transfers.DISABLED:
        raise Conflict("transfers_disabled", "Transfers are disabled by the administrator.")
    if bool(to_agent_id) == bool(to_queue_id):
        raise Invalid("invalid_target", "Transfer to one agent or to one queue.")
    if to_agent_id and not config.transfers_to_agent_allowed():
        raise Conflict("transfers_disabled", "Transfers to agents are not allowed.")
    if to_queue_id and not config.transfers_to_queue_allowed():
        raise Conflict("transfers_disabled", "Transfers to queues are not allowed.")
    now = timezone.now()
    with transaction.atomic(durable=True):
        interaction = interaction_lock_owned(interaction_id, user)
        if Transfer.objects.filter(interaction=interaction, status=Transfer.Status.PENDING).exists():
            raise Conflict("transfer_pending", "This interaction already has a pending transfer.")
        to_agent = to_queue = None
        if to_agent_id:
            to_agent = User.objects.filter(pk=to_agent_id, is_active=True).first()
            if to_agent is None:
                raise Invalid("invalid_target", "No such agent.")
            if to_agent.pk == user.pk:
                raise Invalid("invalid_target", "You already own this interaction.")
            if to_agent.presence != User.Presence.ONLINE:
                raise Conflict("agent_not_online", f"{to_agent.display_name} is not online.")
            targets = [to_agent]
        else:
            to_queue = Queue.objects.filter(pk=to_queue_id).first()
            if to_queue is None:
                raise Invalid("invalid_target", "No such queue.")
            targets = list(_online_agents(to_queue, exclude=user.pk))
        try:
            with transaction.atomic():
                transfer = Transfer.objects.create(
                    interaction=interaction,
                    from_agent=user,
                    to_agent=to_agent,
                    to_queue=to_queue,
                    expires_at=now + timedelta(seconds=config.transfer_timeout),
                )
        except IntegrityError:
            raise Conflict("transfer_pending", "This interaction already has a pending transfer.") from None
        transfer.offered_to.set(targets)
        _history(transfer, "requested", user, to_agent=to_agent_id, to_queue=to_queue_id)
        publish_event(transfer_event("offered", transfer), agent_ids=[a.pk for a in targets])
        _publish(transfer, transfer_event("requested", transfer), targets=False)
        return transfer


def _lock_pending(transfer_id: int) -> Transfer:
    transfer = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("interaction", "from_agent", "to_agent", "to_queue")
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise ServiceError("not_found", "No such transfer.", status=404)
    return transfer


def _is_target(transfer: Transfer, user: User) -> bool:
    if transfer.to_agent_id:
        return transfer.to_agent_id == user.pk
    return transfer.to_queue.agents.filter(pk=user.pk).exists() and user.pk != transfer.from_agent_id


def _not_pending(transfer: Transfer) -> ServiceError:
    if transfer.status == Transfer.Status.ACCEPTED:
        return Conflict("already_taken", "Another agent has already accepted this transfer.")
    return Conflict(f"transfer_{transfer.status}", f"This transfer is {transfer.status}.")


def transfer_accept(*, transfer_id: int, user: User) -> Transfer:
    now = timezone.now()
    with transaction.atomic(durable=True):
        transfer = Transfer.objects.filter(pk=transfer_id).select_related("to_queue").first()
        if transfer is None:
            raise ServiceError("not_found", "No such transfer.", status=404)
        if not _is_target(transfer, user):
            raise NotAllowed("not_target", "This transfer is not offered to you.")
        won = Transfer.objects.filter(pk=transfer_id, status=Transfer.Status.PENDING, expires_at__gt=now).update(
            status=Transfer.Status.ACCEPTED, accepted_by=user, decided_at=now
        )
        transfer = _lock_pending(transfer_id)
        if not won:
            if transfer.status == Transfer.Status.PENDING:  # past its deadline: the sweep just hasn't run
                _finish_unanswered(transfer, Transfer.Status.EXPIRED, now)
            raise _not_pending(transfer)
        interaction = Interaction.objects.select_for_update().get(pk=transfer.interaction_id)
        previous_owner = interaction.owner_id
        interaction.owner = user
        interaction.save(update_fields=["owner"])
        _history(transfer, "accepted", user, from_agent=previous_owner)
        others = [pk for pk in transfer.offered_to.values_list("pk", flat=True) if pk != user.pk]
        publish_event(
            transfer_event("accepted", transfer, interaction=interaction_events.interaction_data(interaction)),
            interaction_id=interaction.pk,
            owner_id=transfer.from_agent_id,
            agent_ids=[user.pk],
        )
        publish_event(transfer_event("taken", transfer, by=user.pk), agent_ids=others)
        publish_event(interaction_events.interaction_assigned(interaction), interaction_id=interaction.pk, owner_id=user.pk)
        return transfer


def _finish_unanswered(transfer: Transfer, status: str, now: datetime) -> None:
    """Declined or timed out: the interaction stays with the agent who asked, back in their unread list."""
    transfer.status = status
    transfer.decided_at = now
    transfer.save(update_fields=["status", "decided_at"])
    _history(transfer, status, None)
    verb = "declined" if status == Transfer.Status.DECLINED else "expired"
    _publish(transfer, transfer_event(verb, transfer))
    interaction = Interaction.objects.get(pk=transfer.interaction_id)
    publish_event(interaction_events.interaction_updated(interaction), interaction_id=interaction.pk, owner_id=transfer.from_agent_id)


def transfer_decline(*, transfer_id: int, user: User) -> Transfer:
    now = timezone.now()
    with transaction.atomic(durable=True):
        transfer = _lock_pending(transfer_id)
        if not _is_target(transfer, user):
            raise NotAllowed("not_target", "This transfer is not offered to you.")
        if transfer.status != Transfer.Status.PENDING:
            raise _not_pending(transfer)
        transfer.declined_by.add(user)
        if transfer.to_agent_id:
            _finish_unanswered(transfer, Transfer.Status.DECLINED, now)
            return transfer
        _history(transfer, "declined_by_agent", user)
        publish_event(transfer_event("withdrawn", transfer), agent_ids=[user.pk])
        declined = set(transfer.declined_by.values_list("pk", flat=True))
        still_online = set(_online_agents(transfer.to_queue, exclude=transfer.from_agent_id).values_list("pk", flat=True))
        if not (still_online - declined):
            # Everyone who could take it said no: no need to wait for the deadline.
            _finish_unanswered(transfer, Transfer.Status.DECLINED, now)
        return transfer


def transfer_cancel(*, transfer_id: int, user: User) -> Transfer:
    now = timezone.now()
    with transaction.atomic(durable=True):
        transfer = _lock_pending(transfer_id)
        if transfer.from_agent_id != user.pk:
            raise Conflict("not_owner", "Only the agent who asked for the transfer can cancel it.")
        if transfer.status != Transfer.Status.PENDING:
            raise _not_pending(transfer)
        transfer.status = Transfer.Status.CANCELLED
        transfer.decided_at = now
        transfer.save(update_fields=["status", "decided_at"])
        _history(transfer, "cancelled", user)
        _publish(transfer, transfer_event("cancelled", transfer))
        return transfer


def transfers_cancel_for(*, interaction, now: datetime | None = None) -> int:
    """The interaction is closing: its pending transfer goes with it."""
    now = now or timezone.now()
    count = 0
    for transfer in Transfer.objects.select_for_update().filter(interaction=interaction, status=Transfer.Status.PENDING):
        transfer.status = Transfer.Status.CANCELLED
        transfer.decided_at = now
        transfer.save(update_fields=["status", "decided_at"])
        _publish(transfer, transfer_event("cancelled", transfer))
        count += 1
    return count


def transfers_expire(*, now: datetime | None = None) -> int:
    """The sweep: every pending transfer past its deadline returns to the agent who asked."""
    now = now or timezone.now()
    count = 0
    while True:
        with transaction.atomic():
            transfer = (
                Transfer.objects.select_for_update(skip_locked=True)
                .filter(status=Transfer.Status.PENDING, expires_at__lte=now)
                .order_by("expires_at", "id")
                .first()
            )
            if transfer is None:
                return count
            _finish_unanswered(transfer, Transfer.Status.EXPIRED, now)
            count += 1


def transfers_offer_to_agent(*, agent: User) -> int:
    """An agent came online: offer them the pending transfers to their queues."""
    count = 0
    with transaction.atomic():
        pending = (
            Transfer.objects.select_for_update()
            .filter(status=Transfer.Status.PENDING, to_queue__agents=agent, expires_at__gt=timezone.now())
            .exclude(from_agent=agent)
            .exclude(declined_by=agent)
            .exclude(offered_to=agent)
        )
        for transfer in pending:
            transfer.offered_to.add(agent)
            publish_event(transfer_event("offered", transfer), agent_ids=[agent.pk])
            count += 1
    return count


def presence_changed(*, agent: User, presence: str, previous: str, now: datetime) -> None:
    """An agent came online: the pending transfers to their queues are offered to them too."""
    if presence == User.Presence.ONLINE and previous != presence:
        transfers_offer_to_agent(agent=agent)
