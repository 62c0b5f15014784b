"""Concurrent webhooks on PostgreSQL: the database settles who opens the interaction."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from apps.interactions.models import Interaction, Message
from tests.factories import WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_first_messages_from_one_number_give_exactly_one_open_interaction(requires_postgres):
    account = WhatsAppAccountFactory()
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def customer_writes(n: int) -> None:
        try:
            client = Client()
            body = sandbox_message(message_id=f"burst-{n}", text=f"message {n}")
            barrier.wait(timeout=30)
            statuses.append(post_signed(client, account, body, content_type="application/json").status_code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=customer_writes, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    assert statuses == [200] * THREADS
    assert Interaction.objects.filter(account=account).exclude(status="closed").count() == 1
    interaction = Interaction.objects.get(account=account)
    assert Message.objects.filter(interaction=interaction).count() == THREADS
    assert interaction.unread_count == THREADS
