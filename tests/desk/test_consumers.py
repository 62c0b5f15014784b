"""The desktop websocket: auth, groups, and every event type a desktop relies on (CONTRACT.md)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from apps.interactions import services as interactions
from apps.interactions.models import Interaction, Message
from apps.providers.services import webhook_event_process
from apps.transfers import services as transfers
from apps.users.models import User
from instant.asgi import application
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message, sandbox_status

pytestmark = pytest.mark.django_db(transaction=True)


def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(cookie_for)(user)))
    comm = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def drain(comm, seconds: float = 0.3) -> list[dict]:
    # receive_nothing() waits without cancelling the consumer (a timed-out receive would).
    events = []
    while not await comm.receive_nothing(timeout=seconds):
        events.append(await comm.receive_json_from(timeout=5))
    return events


def types(events) -> list[str]:
    return [e["type"] for e in events]


def one(events, kind: str) -> dict:
    matching = [e for e in events if e["type"] == kind]
    assert matching, f"no {kind} in {types(events)}"
    return matching[-1]["data"]


def customer_writes(account, text="Hello", message_id="w1"):
    client = Client()
    return post_signed(client, account, sandbox_message(message_id=message_id, text=text), content_type="application/json")


@pytest.fixture
def cast(db):
    queue = QueueFactory(name="Support")
    a1 = UserFactory(username="agent1", presence=User.Presence.ONLINE, queues=[queue])
    a2 = UserFactory(username="agent2", presence=User.Presence.ONLINE, queues=[queue])
    account = WhatsAppAccountFactory(queue=queue)
    return queue, a1, a2, account


def run(coro):
    return asyncio.run(coro)


def test_an_anonymous_socket_is_refused():
    async def scenario():
        comm = WebsocketCommunicator(application, "/ws/desktop/", headers=[(b"origin", b"http://127.0.0.1:8000")])
        connected, code = await comm.connect(timeout=5)
        assert not connected

    run(scenario())


def test_offer_take_assign_chat_status_note_close_events(cast):
    queue, a1, a2, account = cast

    async def scenario():
        ws1, ws2 = await connect(a1), await connect(a2)
        await sync_to_async(customer_writes)(account)
        e1, e2 = await drain(ws1), await drain(ws2)
        offered = one(e1, "interaction.offered")
        assert offered["interaction"]["customer_phone"] == "+15551234567"
        assert offered["expires_at"]
        assert offered["preview"] == "Hello"
        assert one(e2, "interaction.offered")["interaction"]["id"] == offered["interaction"]["id"]
        stats = one(e1, "queue.stats")
        assert stats["queue_id"] == queue.pk and stats["waiting"] == 1
        interaction_id = offered["interaction"]["id"]

        await sync_to_async(interactions.interaction_accept)(interaction_id=interaction_id, user=a1)
        e1, e2 = await drain(ws1), await drain(ws2)
        assert one(e1, "interaction.assigned")["interaction"]["owner"] == a1.pk
        taken = one(e2, "interaction.taken")
        assert taken == {"interaction_id": interaction_id, "by": a1.pk, "by_name": a1.display_name}
        assert one(e2, "queue.stats")["waiting"] == 0

        await sync_to_async(customer_writes)(account, "second", "w2")
        e1, e2 = await drain(ws1), await drain(ws2)
        created = one(e1, "message.created")
        assert created["interaction_id"] == interaction_id and created["message"]["text"] == "second"
        assert one(e1, "interaction.updated")["interaction"]["unread_count"] == 2
        assert "message.created" not in types(e2)  # only the owner gets the chat

        message = await sync_to_async(interactions.message_send)(interaction_id=interaction_id, user=a1, text="hi")
        e1 = await drain(ws1)
        assert one(e1, "message.created")["message"]["direction"] == "out"
        assert one(e1, "message.status")["status"] == "sent"
        pmid = await sync_to_async(lambda: Message.objects.get(pk=message.pk).provider_message_id)()
        await sync_to_async(post_signed)(
            Client(), account, sandbox_status(message_id=pmid, status="read"), content_type="application/json"
        )
        status = one(await drain(ws1), "message.status")
        assert status == {
            "interaction_id": interaction_id, "message_id": message.pk, "status": "read", "error_code": "", "error_message": ""
        }

        await sync_to_async(interactions.note_create)(interaction_id=interaction_id, user=a1, text="internal")
        assert one(await drain(ws1), "note.created")["note"]["text"] == "internal"

        await sync_to_async(interactions.interaction_close)(interaction_id=interaction_id, user=a1)
        assert one(await drain(ws1), "interaction.closed")["interaction_id"] == interaction_id
        await ws1.disconnect()
        await ws2.disconnect()

    run(scenario())


def test_a_reject_withdraws_only_that_agents_offer(cast):
    queue, a1, a2, account = cast

    async def scenario():
        ws1, ws2 = await connect(a1), await connect(a2)
        await sync_to_async(customer_writes)(account)
        offered = one(await drain(ws2), "interaction.offered")
        await drain(ws1)
        await sync_to_async(interactions.interaction_reject)(interaction_id=offered["interaction"]["id"], user=a2)
        assert one(await drain(ws2), "interaction.offer_withdrawn")["reason"] == "rejected"
        assert "interaction.offer_withdrawn" not in types(await drain(ws1))
        await ws1.disconnect()
        await ws2.disconnect()

    run(scenario())


def test_window_expired_and_transfer_events(cast):
    queue, a1, a2, account = cast

    async def scenario():
        ws1, ws2 = await connect(a1), await connect(a2)
        await sync_to_async(customer_writes)(account)
        interaction_id = one(await drain(ws1), "interaction.offered")["interaction"]["id"]
        await sync_to_async(interactions.interaction_accept)(interaction_id=interaction_id, user=a1)
        await drain(ws1)
        await drain(ws2)

        transfer = await sync_to_async(transfers.transfer_request)(interaction_id=interaction_id, user=a1, to_agent_id=a2.pk)
        offered = one(await drain(ws2), "transfer.offered")["transfer"]
        assert offered["id"] == transfer.pk and offered["to_agent"] == a2.pk and offered["status"] == "pending"
        await drain(ws1)
        await sync_to_async(transfers.transfer_decline)(transfer_id=transfer.pk, user=a2)
        assert one(await drain(ws1), "transfer.declined")["transfer"]["status"] == "declined"

        transfer = await sync_to_async(transfers.transfer_request)(interaction_id=interaction_id, user=a1, to_agent_id=a2.pk)
        await drain(ws2)
        later = timezone.now() + timedelta(hours=1)
        await sync_to_async(transfers.transfers_expire)(now=later)
        assert one(await drain(ws1), "transfer.expired")["transfer"]["id"] == transfer.pk

        transfer = await sync_to_async(transfers.transfer_request)(interaction_id=interaction_id, user=a1, to_agent_id=a2.pk)
        await drain(ws2)
        await sync_to_async(transfers.transfer_accept)(transfer_id=transfer.pk, user=a2)
        accepted = one(await drain(ws1), "transfer.accepted")
        assert accepted["transfer"]["accepted_by"] == a2.pk and accepted["interaction"]["owner"] == a2.pk
        assert one(await drain(ws2), "interaction.assigned")["interaction"]["owner"] == a2.pk

        await sync_to_async(Interaction.objects.filter(pk=interaction_id).update)(
            window_expires_at=timezone.now() - timedelta(seconds=1)
        )
        await sync_to_async(interactions.windows_expire)()
        expired = one(await drain(ws2), "window.expired")
        assert expired["interaction_id"] == interaction_id and expired["recontact_available"] is False
        await ws1.disconnect()
        await ws2.disconnect()

    run(scenario())


def test_the_socket_answers_ping_and_leaves_every_action_to_the_rest_api(cast):
    queue, a1, a2, account = cast

    async def scenario():
        ws1 = await connect(a1)
        await sync_to_async(customer_writes)(account)
        interaction_id = one(await drain(ws1), "interaction.offered")["interaction"]["id"]

        await ws1.send_json_to({"action": "ping", "request_id": 1})
        assert one(await drain(ws1), "reply") == {"request_id": 1, "ok": True, "result": {"pong": True}}

        # The desktop accepts, sends, reads and closes through REST; the socket no longer does.
        for action in ("accept", "reject", "read", "send", "note", "close", "presence"):
            command = {"action": action, "interaction_id": interaction_id, "text": "hi", "request_id": action}
            await ws1.send_json_to(command)
            reply = one(await drain(ws1), "reply")
            assert (reply["request_id"], reply["ok"], reply["code"]) == (action, False, "unknown_action")
        interaction = await sync_to_async(Interaction.objects.get)(pk=interaction_id)
        assert (interaction.status, interaction.owner_id) == ("waiting", None)
        assert not await sync_to_async(interaction.messages.filter(direction="out").exists)()
        await ws1.disconnect()

    run(scenario())


def test_a_watch_of_an_interaction_the_user_may_not_see_is_refused(cast):
    queue, a1, a2, account = cast

    async def scenario():
        other_queue = await sync_to_async(QueueFactory)(name="Other")
        outsider = await sync_to_async(UserFactory)(username="olga", queues=[other_queue])
        await sync_to_async(customer_writes)(account)
        interaction = await sync_to_async(Interaction.objects.get)()
        ws = await connect(outsider)
        await ws.send_json_to({"action": "watch", "interaction_id": interaction.pk, "request_id": 7})
        reply = one(await drain(ws), "reply")
        assert (reply["request_id"], reply["ok"], reply["code"]) == (7, False, "not_found")
        await ws.disconnect()

    run(scenario())


def test_customer_data_is_masked_per_recipient_on_the_socket(cast, db):
    from apps.core.models import InstallationSettings

    queue, a1, a2, account = cast
    InstallationSettings.objects.update_or_create(pk=1, defaults={"masking": "partial"})
    supervisor = UserFactory(username="sam", role=User.Role.SUPERVISOR)

    async def scenario():
        agent_ws, boss_ws = await connect(a1), await connect(supervisor)
        await sync_to_async(customer_writes)(account)
        offered = one(await drain(agent_ws), "interaction.offered")["interaction"]
        assert offered["customer_phone"] == "+••••••••567"
        assert offered["customer_name"] == "C••• C•••"
        stats_only = await drain(boss_ws)
        assert "queue.stats" in types(stats_only)
        await sync_to_async(interactions.interaction_accept)(interaction_id=offered["id"], user=a1)
        await drain(boss_ws)
        await boss_ws.send_json_to({"action": "watch", "interaction_id": offered["id"]})
        await drain(boss_ws)
        await sync_to_async(customer_writes)(account, "again", "w9")
        boss_events = await drain(boss_ws)
        assert one(boss_events, "message.created")["message"]["text"] == "again"
        assert one(boss_events, "interaction.updated")["interaction"]["customer_phone"] == "+15551234567"
        assert one(await drain(agent_ws), "interaction.updated")["interaction"]["customer_phone"] == "+••••••••567"
        await agent_ws.disconnect()
        await boss_ws.disconnect()

    run(scenario())


def test_a_socket_leaves_every_group_even_when_one_discard_fails(monkeypatch):
    """A failing group_discard (Redis busy or gone) must not keep the socket in its other groups."""
    asyncio.run(_leave_with_one_failing_discard(monkeypatch))


async def _leave_with_one_failing_discard(monkeypatch):
    from channels.layers import InMemoryChannelLayer

    from apps.desktop.consumers import DesktopConsumer

    layer = InMemoryChannelLayer()
    consumer = DesktopConsumer()
    consumer.channel_layer = layer
    consumer.channel_name = await layer.new_channel()
    consumer.groups_joined = ["agent.1", "queue.1", "queue.2"]
    for group in consumer.groups_joined:
        await layer.group_add(group, consumer.channel_name)
    real_discard = layer.group_discard

    async def flaky_discard(group, channel):
        if group == "agent.1":
            raise ConnectionError("redis went away")
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_discard", flaky_discard)
    await consumer.disconnect(1001)
    assert consumer.channel_name not in layer.groups.get("queue.1", {})
    assert consumer.channel_name not in layer.groups.get("queue.2", {})
