"""Named users with different rights (STYLE.md "Tests"): alice and bob are agents of queues A and
B, sam supervises, ada administers."""
from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.users.models import User
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory


@pytest.fixture
def queue_a(db):
    return QueueFactory(name="Queue A")


@pytest.fixture
def queue_b(db):
    return QueueFactory(name="Queue B")


@pytest.fixture
def alice(queue_a):
    return UserFactory(username="alice", first_name="Alice", role=User.Role.AGENT, queues=[queue_a])


@pytest.fixture
def bob(queue_b):
    return UserFactory(username="bob", first_name="Bob", role=User.Role.AGENT, queues=[queue_b])


@pytest.fixture
def sam(db):
    return UserFactory(username="sam", first_name="Sam", role=User.Role.SUPERVISOR)


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", first_name="Ada", role=User.Role.ADMIN)


@pytest.fixture
def account_a(queue_a):
    return WhatsAppAccountFactory(name="Account A", queue=queue_a)


@pytest.fixture
def account_b(queue_b):
    return WhatsAppAccountFactory(name="Account B", queue=queue_b)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def client_for(user) -> APIClient:
    """An API client authenticated the way REST clients are: ``Authorization: Token <token>``."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def as_user():
    return client_for
