"""The customer simulator is for admins and the users an admin allows; INSTANT_SIMULATOR turns it off."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group, Permission
from django.test import Client

from apps.users.models import User
from instant.asgi import application
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    return WhatsAppAccountFactory(queue=QueueFactory(name="Support"))


@pytest.fixture
def people(db):
    allowed_group = Group.objects.create(name="Demo players")
    allowed_group.permissions.add(Permission.objects.get(content_type__app_label="providers", codename="view_sandboxmessage"))
    player = UserFactory(username="player")
    player.groups.add(allowed_group)
    return {
        "agent": UserFactory(username="agent"),
        "supervisor": UserFactory(username="sup", role=User.Role.SUPERVISOR),
        "admin": UserFactory(username="root", role=User.Role.ADMIN),
        "player": player,
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("who", "allowed"), [("agent", False), ("supervisor", False), ("admin", True), ("player", True)])
def test_only_admins_and_allowed_users_use_the_simulator(people, account, who, allowed):
    client = signed_in(people[who])
    page = client.get("/simulator/")
    assert page.status_code == (200 if allowed else 403)
    listed = client.get(f"/simulator/api/accounts/{account.pk}/messages/?phone=%2B15551234567")
    assert listed.status_code == (200 if allowed else 403)
    if not allowed:
        assert listed.json()["code"] == "simulator_not_allowed"
        sent = client.post(f"/simulator/api/accounts/{account.pk}/send/", {"phone": "+15551234567", "text": "hi"})
        assert sent.status_code == 403


def test_the_setting_turns_the_simulator_off(people, account, settings):
    settings.INSTANT_SIMULATOR = False
    client = signed_in(people["admin"])
    assert client.get("/simulator/").status_code == 404
    assert client.get(f"/simulator/api/accounts/{account.pk}/messages/?phone=%2B15551234567").status_code == 404


async def _socket_accepts(user) -> bool:
    client = await sync_to_async(signed_in)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = WebsocketCommunicator(
        application, "/ws/simulator/", headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]
    )
    connected, _ = await comm.connect(timeout=5)
    if connected:
        await comm.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
def test_the_simulator_socket_refuses_who_may_not_use_it(people, settings):
    # The permission check, not the layer: in-memory, so each asyncio.run() leaves no Redis reader
    # behind (with REDIS_URL set, the full suite once hung in asyncio.run's task cancellation here).
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert asyncio.run(_socket_accepts(people["admin"])) is True
    assert asyncio.run(_socket_accepts(people["agent"])) is False
    settings.INSTANT_SIMULATOR = False
    assert asyncio.run(_socket_accepts(people["admin"])) is False
