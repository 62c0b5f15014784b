"""Who receives each realtime event: the one place that decides it.

Services say what happened and to which ids (interaction, owner, agents, queue); the rule for the
event's type picks the groups. Groups (``apps.core.realtime``): ``agent.<id>`` (one agent's
desktops), ``queue.<id>`` (who follows a queue), ``interaction.<id>`` (anyone watching one
interaction: its owner's other tabs, a supervisor spying), ``supervisors`` (the board) and
``sandbox.<account id>`` (the customer simulator).
"""
from __future__ import annotations

from collections.abc import Iterable

from .realtime import DESKTOPS_GROUP, SUPERVISORS_GROUP, agent_group, interaction_group, publish, queue_group, sandbox_group

# Event type (or its "<entity>.*" family) -> rule.
RULES: dict[str, str] = {
    # Offers concern the agents they were made to (or taken from).
    "interaction.offered": "agents",
    "interaction.taken": "agents",
    "interaction.offer_withdrawn": "agents",
    # What happens inside an interaction: its owner and whoever watches it.
    "interaction.assigned": "watchers",
    "interaction.updated": "watchers",
    "interaction.closed": "watchers",
    "message.created": "watchers",
    "message.updated": "watchers",
    "message.status": "watchers",
    "note.created": "watchers",
    "window.expired": "watchers",
    # A transfer: offers and their withdrawal go to the agents concerned; the rest to the asking
    # agent (as the owner), the interaction's watchers and the agents it was offered to.
    "transfer.offered": "agents",
    "transfer.taken": "agents",
    "transfer.withdrawn": "agents",
    "transfer.*": "watchers+agents",
    # Counters: who follows the queue, and the supervisors' board.
    "queue.stats": "queue+supervisors",
    "agent.presence": "agents+supervisors",
    # The board: each supervisor's socket sends it, at most once a second (apps.desktop.consumers).
    "board.updated": "supervisors",
    # Campaign progress: admins and supervisors (both join the supervisors' group).
    "campaign.progress": "supervisors",
    # The customer simulator of a Sandbox account.
    "sandbox.*": "sandbox",
    # Installation-wide: a new masking level reaches every open desktop at once (B5).
    "settings.masking": "desktops",
    # Contacts (D9): to the desktops of the users who may view the contact's list.
    "contact.*": "agents+supervisors",
}


def rule_for(event_type: str) -> str:
    rule = RULES.get(event_type) or RULES.get(event_type.split(".", 1)[0] + ".*")
    if rule is None:
        raise KeyError(f"no audience rule for {event_type!r}: add it to apps.core.audience.RULES")
    return rule


def groups_for(
    event_type: str,
    *,
    interaction_id: int | None = None,
    owner_id: int | None = None,
    agent_ids: Iterable[int] = (),
    queue_id: int | None = None,
    account_id: int | None = None,
) -> list[str]:
    rule = rule_for(event_type)
    groups: list[str] = []
    for part in rule.split("+"):
        if part == "watchers":
            if interaction_id is not None:
                groups.append(interaction_group(interaction_id))
            if owner_id:
                groups.append(agent_group(owner_id))
        elif part == "agents":
            groups += [agent_group(pk) for pk in agent_ids if pk]
        elif part == "queue" and queue_id is not None:
            groups.append(queue_group(queue_id))
        elif part == "supervisors":
            groups.append(SUPERVISORS_GROUP)
        elif part == "sandbox" and account_id is not None:
            groups.append(sandbox_group(account_id))
        elif part == "desktops":
            groups.append(DESKTOPS_GROUP)
    return list(dict.fromkeys(groups))


def publish_event(event: dict, **ids) -> None:
    """Publish ``event`` after commit to the groups its type's rule names for these ids."""
    publish(event, groups=groups_for(event["type"], **ids))
