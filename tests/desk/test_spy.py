"""S1 spy and S2 supervisor notes: a watcher gets the owner's events and 403 on every action; a
supervisor's note reaches the owner agent only."""
from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.interactions import services as interactions
from apps.interactions.models import Message
from apps.users.models import User
from tests.desk.conftest import api
from tests.desk.test_consumers import connect, customer_writes, drain, one, run, types
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory


@pytest.fixture
def spy_cast(db):
    queue = QueueFactory(name="Support")
    a1 = UserFactory(username="agent1", presence=User.Presence.ONLINE, queues=[queue])
    a2 = UserFactory(username="agent2", presence=User.Presence.ONLINE, queues=[queue])
    boss = UserFactory(username="sam", role=User.Role.SUPERVISOR)
    account = WhatsAppAccountFactory(queue=queue)
    return queue, a1, a2, boss, account


@pytest.fixture
def owned(spy_cast, on_commit):
    queue, a1, a2, boss, account = spy_cast
    with on_commit():
        response = customer_writes(account, "I need help", "m1")
    assert response.status_code == 200
    from apps.interactions.models import Interaction

    interaction = Interaction.objects.get()
    interactions.interaction_accept(interaction_id=interaction.pk, user=a1)
    return interaction


@pytest.mark.django_db(transaction=True)
def test_a_watcher_gets_the_owners_events_live_and_other_agents_do_not(spy_cast, owned):
    queue, a1, a2, boss, account = spy_cast

    async def scenario():
        owner_ws, other_ws, boss_ws = await connect(a1), await connect(a2), await connect(boss)
        await boss_ws.send_json_to({"action": "watch", "interaction_id": owned.pk, "request_id": 1})
        reply = one(await drain(boss_ws), "reply")
        assert reply["ok"] and reply["result"] == {"watching": owned.pk}

        await sync_to_async(customer_writes)(account, "still there?", "m2")
        await sync_to_async(interactions.message_send)(interaction_id=owned.pk, user=a1, text="yes")
        await sync_to_async(interactions.note_create)(interaction_id=owned.pk, user=a1, text="agent note")
        owner_events, boss_events, other_events = await drain(owner_ws), await drain(boss_ws), await drain(other_ws)
        chat_types = {"message.created", "message.status", "interaction.updated", "note.created"}
        assert chat_types <= set(types(owner_events))
        assert chat_types <= set(types(boss_events))
        assert not chat_types & set(types(other_events))
        texts = [e["data"]["message"]["text"] for e in boss_events if e["type"] == "message.created"]
        assert texts == ["still there?", "yes"]

        await sync_to_async(interactions.interaction_close)(interaction_id=owned.pk, user=a1)
        assert one(await drain(boss_ws), "interaction.closed")["interaction_id"] == owned.pk
        for ws in (owner_ws, other_ws, boss_ws):
            await ws.disconnect()

    run(scenario())


@pytest.mark.django_db(transaction=True)
def test_every_socket_action_of_a_watcher_is_refused_with_403(spy_cast, owned):
    queue, a1, a2, boss, account = spy_cast

    async def scenario():
        ws = await connect(boss)
        await ws.send_json_to({"action": "watch", "interaction_id": owned.pk})
        await drain(ws)
        for action in ("send", "close", "accept", "transfer", "read", "note"):
            await ws.send_json_to({"action": action, "interaction_id": owned.pk, "text": "x", "request_id": action})
            reply = one(await drain(ws), "reply")
            assert (reply["request_id"], reply["ok"], reply["code"], reply["status"]) == (action, False, "read_only", 403)
        await ws.send_json_to({"action": "ping", "request_id": "p"})
        assert one(await drain(ws), "reply")["ok"] is True
        await ws.disconnect()

    run(scenario())


@pytest.mark.django_db(transaction=True)
def test_an_agent_may_not_watch_a_colleagues_conversation(spy_cast, owned):
    queue, a1, a2, boss, account = spy_cast

    async def scenario():
        ws = await connect(a2)
        await ws.send_json_to({"action": "watch", "interaction_id": owned.pk, "request_id": 3})
        reply = one(await drain(ws), "reply")
        assert (reply["ok"], reply["code"]) == (False, "supervisors_only")
        await sync_to_async(customer_writes)(account, "hello again", "m3")
        assert "message.created" not in types(await drain(ws))
        await ws.disconnect()

    run(scenario())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "messages/", {"text": "hijack"}),
        ("post", "read/", None),
        ("post", "recontact/", None),
        ("post", "transfer/", {"to_queue": 1}),
        ("post", "reject/", None),
        ("post", "accept/", None),
    ],
)
def test_every_rest_action_of_a_supervisor_on_an_agents_chat_is_403(spy_cast, owned, method, path, body):
    queue, a1, a2, boss, account = spy_cast
    if path == "transfer/":
        body = {"to_queue": queue.pk}
    response = getattr(api(boss), method)(f"/api/v1/interactions/{owned.pk}/{path}", body, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] in ("read_only", "not_queue_member")
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.django_db
def test_a_supervisor_note_is_seen_by_the_owner_and_supervisors_only(spy_cast, owned):
    queue, a1, a2, boss, account = spy_cast
    response = api(boss).post(f"/api/v1/interactions/{owned.pk}/notes/", {"text": "Offer a discount"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "supervisor"
    api(a1).post(f"/api/v1/interactions/{owned.pk}/notes/", {"text": "agent's own"}, format="json")

    def notes_for(user):
        return [(n["kind"], n["text"]) for n in api(user).get(f"/api/v1/interactions/{owned.pk}/notes/").json()["results"]]

    assert notes_for(a1) == [("supervisor", "Offer a discount"), ("agent", "agent's own")]
    assert notes_for(boss) == notes_for(a1)
    assert notes_for(a2) == [("agent", "agent's own")]
    # Never sent to the customer.
    assert not Message.objects.filter(direction="out").exists()


@pytest.mark.django_db(transaction=True)
def test_a_supervisor_note_event_reaches_the_owner_and_the_watcher_only(spy_cast, owned):
    queue, a1, a2, boss, account = spy_cast

    async def scenario():
        owner_ws, other_ws, boss_ws = await connect(a1), await connect(a2), await connect(boss)
        await boss_ws.send_json_to({"action": "watch", "interaction_id": owned.pk})
        await drain(boss_ws)
        await sync_to_async(interactions.note_create)(interaction_id=owned.pk, user=boss, text="Offer a discount")
        note = one(await drain(owner_ws), "note.created")["note"]
        assert (note["kind"], note["text"], note["author"]) == ("supervisor", "Offer a discount", boss.pk)
        assert one(await drain(boss_ws), "note.created")["note"]["id"] == note["id"]
        assert "note.created" not in types(await drain(other_ws))
        for ws in (owner_ws, other_ws, boss_ws):
            await ws.disconnect()

    run(scenario())
