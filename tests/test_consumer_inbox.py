"""The desktop consumers' own loop on the pub/sub layer (issue 11): one inbox per socket, messages in
order, client frames between events, round robin between sockets, nothing left behind at close.

These run on the Redis pub/sub layer whatever the settings say (the embedded default uses the
in-memory layer, where Channels' own loop runs and tests/desk covers it)."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from apps.core.channel_layer import BoundedRedisPubSubChannelLayer
from apps.core.realtime import DESKTOPS_GROUP
from instant.asgi import application
from tests import processes
from tests.desk.test_consumers import cookie_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


@pytest.fixture
def pubsub(settings):
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        processes.unavailable("needs Redis (set REDIS_URL)")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "apps.core.channel_layer.BoundedRedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": processes.with_path(url, "/9")}], "prefix": f"t{uuid.uuid4().hex[:8]}."},
        }
    }
    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)


def _spying(log: list, name: str):
    """The project's application, with every frame a socket sends written to ``log`` as (name, text)."""

    async def app(scope, receive, send):
        async def spy(message):
            if message["type"] == "websocket.send":
                log.append((name, message["text"]))
            await send(message)

        await application(scope, receive, spy)

    return app


async def _open(user, log: list | None = None, name: str = "") -> WebsocketCommunicator:
    headers = [*HEADERS, (b"cookie", await sync_to_async(cookie_for)(user))]
    app = application if log is None else _spying(log, name)
    comm = WebsocketCommunicator(app, "/ws/desktop/", headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    # The socket joins its groups after accepting; a reply to a ping comes after that (one inbox).
    await comm.send_json_to({"action": "ping", "request_id": "joined"})
    assert (await comm.receive_json_from(timeout=5))["data"]["request_id"] == "joined"
    return comm


def _push(*types: str) -> dict:
    return {"type": "events.push", "events": [{"type": t, "data": {"n": i}} for i, t in enumerate(types)]}


def test_events_and_the_clients_own_frames_go_through_one_inbox_in_order(pubsub, monkeypatch):
    user = UserFactory(username="inbox-agent")
    # Channels' loop (a task and an asyncio.wait per message) is not the one that runs here.
    import channels.consumer

    stock_loop_calls = []
    monkeypatch.setattr(channels.consumer, "await_many_dispatch", lambda *a: stock_loop_calls.append(a))

    async def scenario():
        layer = channel_layers["default"]
        assert isinstance(layer, BoundedRedisPubSubChannelLayer)
        comm = await _open(user)
        await layer.group_send(DESKTOPS_GROUP, _push("a.one", "a.two", "a.three"))
        got = [(await comm.receive_json_from(timeout=5))["type"] for _ in range(3)]
        await comm.send_json_to({"action": "ping", "request_id": "r1"})
        reply = await comm.receive_json_from(timeout=5)
        local = layer.local()
        open_channels = len(local.channels)
        await comm.disconnect()
        await asyncio.sleep(0.2)
        return got, reply, open_channels, dict(local.channels), {g: set(m) for g, m in local.groups.items() if m}

    got, reply, open_channels, channels_after, groups_after = asyncio.run(scenario())
    assert stock_loop_calls == []
    assert got == ["a.one", "a.two", "a.three"]
    assert reply == {"type": "reply", "data": {"request_id": "r1", "ok": True, "result": {"pong": True}}}
    assert open_channels == 1
    # Closed: its channel and its Redis subscription are gone, and it left every group.
    assert channels_after == {}
    assert groups_after == {}


def test_a_fan_out_gives_every_socket_its_first_event_before_any_its_second(pubsub):
    """Round robin between sockets: without it, each socket sent all its events before the next socket
    sent any, and an offer behind another event reached the last of 2,000 desktops after 4,000 frames."""
    user = UserFactory(username="fair-agent")

    async def scenario():
        layer = channel_layers["default"]
        log: list = []
        comms = [await _open(user, log, f"s{i}") for i in range(5)]
        log.clear()
        await layer.group_send(DESKTOPS_GROUP, _push("first", "second", "third"))
        for comm in comms:
            for _ in range(3):
                await comm.receive_json_from(timeout=5)
        for comm in comms:
            await comm.disconnect()
        return log

    log = asyncio.run(scenario())
    order = ["first" if '"first"' in text else "second" if '"second"' in text else "third" for _, text in log]
    assert order == ["first"] * 5 + ["second"] * 5 + ["third"] * 5
    # Each socket still got its own three in order.
    for name in {n for n, _ in log}:
        mine = [text for n, text in log if n == name]
        assert ['"first"' in mine[0], '"second"' in mine[1], '"third"' in mine[2]] == [True, True, True]


def test_a_server_close_ends_the_consumer_and_forgets_its_channel(pubsub):
    """A socket the server closes (here: a user who is no longer logged in is refused) leaves nothing."""

    async def scenario():
        layer = channel_layers["default"]
        comm = WebsocketCommunicator(application, "/ws/desktop/", headers=HEADERS)
        connected, code = await comm.connect(timeout=5)
        await comm.wait(timeout=2)
        return connected, code, dict(layer.local().channels)

    connected, code, channels = asyncio.run(scenario())
    assert not connected and code == 4401
    assert channels == {}


def test_a_new_customers_webhook_gives_the_socket_its_offer_and_counters_before_the_new_contact(pubsub):
    """Through the real webhook view, on the pub/sub layer: the new contact's event is published after
    the transaction's others (apps.core.realtime.TRAILING_FAMILIES), so it reaches the agent last."""
    from apps.contacts.models import ContactListPermission
    from apps.users.models import User
    from tests.desk.test_consumers import customer_writes
    from tests.factories import ContactListFactory, QueueFactory, WhatsAppAccountFactory

    queue = QueueFactory(name="Inbox queue")
    agent = UserFactory(username="inbox-offer-agent", presence=User.Presence.ONLINE, queues=[queue])
    customers = ContactListFactory(name="Inbox customers")
    ContactListPermission.objects.create(contact_list=customers, user=agent)
    account = WhatsAppAccountFactory(queue=queue, contact_list=customers, create_contacts=True)

    async def scenario():
        comm = await _open(agent)
        response = await sync_to_async(customer_writes)(account)
        assert response.status_code == 200
        kinds = []
        while "contact.created" not in kinds:
            kinds.append((await comm.receive_json_from(timeout=5))["type"])
        await comm.disconnect()
        return kinds

    kinds = asyncio.run(scenario())
    assert kinds.index("interaction.offered") < kinds.index("queue.stats") < kinds.index("contact.created")
