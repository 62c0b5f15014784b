"""D2 on PostgreSQL: 2 agents x 50 concurrent accepts give exactly one owner."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.core.exceptions import Conflict
from apps.interactions.models import Interaction
from apps.interactions.services import interaction_accept
from apps.users.models import User
from tests.factories import InteractionFactory, QueueFactory, UserFactory, WhatsAppAccountFactory


@pytest.mark.django_db(transaction=True)
def test_two_agents_times_fifty_concurrent_accepts_give_exactly_one_owner(requires_postgres):
    queue = QueueFactory(name="Race")
    agents = [UserFactory(username=f"racer{i}", presence=User.Presence.ONLINE, queues=[queue]) for i in range(2)]
    interaction = InteractionFactory(account=WhatsAppAccountFactory(queue=queue), status="waiting")
    attempts = 50  # per agent
    # 50 threads (25 per agent, 2 attempts each) keep within PostgreSQL's default 100 connections.
    threads_per_agent = 25
    barrier = threading.Barrier(2 * threads_per_agent)
    won: list[int] = []
    lost: list[str] = []
    errors: list[BaseException] = []

    def accept(agent):
        try:
            barrier.wait(timeout=60)
            for _ in range(attempts // threads_per_agent):
                try:
                    interaction_accept(interaction_id=interaction.pk, user=agent)
                    won.append(agent.pk)
                except Conflict as exc:
                    lost.append(exc.code)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(agents[i % 2],)) for i in range(2 * threads_per_agent)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(won) == 1
    assert lost == ["already_taken"] * (2 * attempts - 1)
    interaction = Interaction.objects.get(pk=interaction.pk)
    assert interaction.owner_id == won[0]
    assert interaction.status == "open"
