"""A Support queue with two online agents and a Sandbox account: the cast of the desktop tests."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.users.models import User
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message


@pytest.fixture
def support(db):
    return QueueFactory(name="Support")


@pytest.fixture
def agent1(support):
    return UserFactory(username="agent1", first_name="Alice", presence=User.Presence.ONLINE, queues=[support])


@pytest.fixture
def agent2(support):
    return UserFactory(username="agent2", first_name="Bob", presence=User.Presence.ONLINE, queues=[support])


@pytest.fixture
def outsider(db):
    return UserFactory(username="olga", presence=User.Presence.ONLINE, queues=[QueueFactory(name="Other")])


@pytest.fixture
def supervisor(db):
    return UserFactory(username="sam", role=User.Role.SUPERVISOR)


@pytest.fixture
def account(support):
    return WhatsAppAccountFactory(name="Demo", queue=support)


@pytest.fixture
def customer_writes(client, account, on_commit):
    """Play the customer through the real webhook view; returns the interaction."""
    counter = {"n": 0}

    def write(text: str = "Hello", phone: str = "+15551234567"):
        from apps.interactions.models import Interaction

        counter["n"] += 1
        with on_commit():
            response = post_signed(
                client,
                account,
                sandbox_message(message_id=f"in-{phone}-{counter['n']}", phone=phone, text=text),
                content_type="application/json",
            )
        assert response.status_code == 200
        return Interaction.objects.exclude(status="closed").get(account=account, customer_phone=phone)

    return write


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
