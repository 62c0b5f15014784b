"""Realtime publishing from worker threads reuses one event loop, and so one channel-layer pool.

channels-redis keeps a connection pool per event loop; ``async_to_sync`` from a thread with no loop
above it (a Celery worker's) makes a new loop for every call, which opened fresh Redis connections for
every event. Worker processes publish through ``realtime.publisher`` instead.
"""
from __future__ import annotations

import asyncio
import json
import threading

import pytest

from apps.core import realtime


class RecordingLayer:
    def __init__(self) -> None:
        # The loops themselves, not their ids: a loop collected after its thread ends may leave its id
        # to the next one, and two loops would then count as one.
        self.sent: list[tuple[str, str, asyncio.AbstractEventLoop]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message["event"]["type"], asyncio.get_running_loop()))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recording)
    return recording


def _from_threads(n: int) -> None:
    threads = [
        threading.Thread(target=realtime.send_now, args=(["agent.1", "queue.2"], {"type": "test.event", "data": {}}))
        for _ in range(n)
    ]
    for thread in threads:
        thread.start()
        thread.join()


def test_without_the_publisher_every_send_from_a_bare_thread_gets_a_new_loop(layer):
    assert not realtime.publisher.running
    _from_threads(3)
    assert len(layer.sent) == 6
    assert len({loop for _, _, loop in layer.sent}) == 3  # one loop (and pool) per call: what the fix avoids


def test_with_the_publisher_every_send_goes_through_one_long_lived_loop(layer, monkeypatch):
    publisher = realtime._Publisher()
    monkeypatch.setattr(realtime, "publisher", publisher)
    publisher.start()
    try:
        _from_threads(3)
    finally:
        publisher.loop.call_soon_threadsafe(publisher.loop.stop)
    assert sorted((g, t) for g, t, _ in layer.sent) == sorted([("agent.1", "test.event"), ("queue.2", "test.event")] * 3)
    assert {loop for _, _, loop in layer.sent} == {publisher.loop}


def test_a_failing_group_does_not_stop_the_others(monkeypatch):
    class Flaky(RecordingLayer):
        async def group_send(self, group: str, message: dict) -> None:
            if group == "agent.1":
                raise ConnectionError("redis went away")
            await super().group_send(group, message)

    flaky = Flaky()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: flaky)
    realtime.send_now(["agent.1", "queue.2"], {"type": "test.event", "data": {}})
    assert [g for g, _, _ in flaky.sent] == ["queue.2"]


# ----- one publish per group for the events of one transaction ----------------------------------------
from django.db import transaction  # noqa: E402

from apps.core.audience import publish_event  # noqa: E402


class MessageLayer:
    """Records each channel-layer message (group, message) as sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, json.loads(json.dumps(message))))


@pytest.fixture
def messages(monkeypatch):
    recording = MessageLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recording)
    return recording


def unpacked(sent: list[tuple[str, dict]], group: str) -> list[str]:
    """The event types a consumer of ``group`` hands to its socket, in order."""
    out = []
    for g, message in sent:
        if g == group:
            events = message["events"] if message["type"] == "events.push" else [message["event"]]
            out += [e["type"] for e in events]
    return out


def event(kind: str) -> dict:
    return {"type": kind, "data": {}}


@pytest.mark.django_db(transaction=True)
def test_the_events_of_one_transaction_leave_as_one_message_per_group_in_order(messages):
    with transaction.atomic():
        realtime.publish(event("a.one"), groups=["agent.1", "queue.2"])
        realtime.publish(event("a.two"), groups=["agent.1"])
        realtime.publish(event("a.three"), groups=["agent.1", "queue.2"])
        assert messages.sent == []  # nothing before the commit
    assert sorted(g for g, _ in messages.sent) == ["agent.1", "queue.2"]
    assert unpacked(messages.sent, "agent.1") == ["a.one", "a.two", "a.three"]
    assert unpacked(messages.sent, "queue.2") == ["a.one", "a.three"]
    assert dict(messages.sent)["agent.1"]["type"] == "events.push"


@pytest.mark.django_db(transaction=True)
def test_contact_events_trail_the_rest_of_their_transaction(messages):
    """A new customer's contact is created before its interaction is offered; the offer and the queue's
    counters go first, to every group, and the contact events after them (the contact list can wait
    behind the ringing desktop); each part keeps its order."""
    with transaction.atomic():
        realtime.publish(event("contact.created"), groups=["agent.1", "supervisors"])
        realtime.publish(event("interaction.offered"), groups=["agent.1"])
        realtime.publish(event("contact.updated"), groups=["agent.1"])
        realtime.publish(event("queue.stats"), groups=["queue.1", "supervisors"])
    assert unpacked(messages.sent, "agent.1") == ["interaction.offered", "contact.created", "contact.updated"]
    assert unpacked(messages.sent, "supervisors") == ["queue.stats", "contact.created"]
    # Published in two steps: every group's leading message before any contact event.
    groups_in_order = [g for g, _ in messages.sent]
    assert sorted(groups_in_order[:3]) == ["agent.1", "queue.1", "supervisors"]
    assert sorted(groups_in_order[3:]) == ["agent.1", "supervisors"]
    assert all(e["type"].startswith("contact.") for _, m in messages.sent[3:] for e in m.get("events") or [m["event"]])


@pytest.mark.django_db(transaction=True)
def test_a_lone_event_keeps_the_single_message_shape(messages):
    with transaction.atomic():
        realtime.publish(event("a.one"), groups=["agent.1"])
    assert messages.sent == [("agent.1", {"type": "event.push", "event": {"type": "a.one", "data": {}}})]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing_and_the_next_one_only_its_own(messages):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            realtime.publish(event("a.lost"), groups=["agent.1"])
            raise RuntimeError
    with transaction.atomic():
        realtime.publish(event("a.kept"), groups=["agent.1"])
    assert unpacked(messages.sent, "agent.1") == ["a.kept"]


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_that_rolls_back_drops_only_its_own_events(messages):
    with transaction.atomic():
        realtime.publish(event("a.before"), groups=["agent.1"])
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                realtime.publish(event("a.inner"), groups=["agent.1"])
                raise RuntimeError
        realtime.publish(event("a.after"), groups=["agent.1"])
    assert unpacked(messages.sent, "agent.1") == ["a.before", "a.after"]


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_that_rolls_back_last_still_lets_the_outer_events_go(messages):
    with transaction.atomic():
        realtime.publish(event("a.outer"), groups=["agent.1"])
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                realtime.publish(event("a.inner"), groups=["agent.1"])
                raise RuntimeError
    assert unpacked(messages.sent, "agent.1") == ["a.outer"]


@pytest.mark.django_db(transaction=True)
def test_events_of_a_released_savepoint_go_with_the_transaction_in_order(messages):
    with transaction.atomic():
        realtime.publish(event("a.one"), groups=["agent.1"])
        with transaction.atomic():
            realtime.publish(event("a.two"), groups=["agent.1"])
        realtime.publish(event("a.three"), groups=["agent.1"])
    assert unpacked(messages.sent, "agent.1") == ["a.one", "a.two", "a.three"]
    assert len(messages.sent) == 1


@pytest.mark.django_db(transaction=True)
def test_a_transaction_run_from_another_ones_commit_callback_is_its_own_batch(messages):
    def nested() -> None:
        with transaction.atomic():
            realtime.publish(event("b.nested"), groups=["agent.1"])

    with transaction.atomic():
        realtime.publish(event("a.one"), groups=["agent.1"])
        transaction.on_commit(nested)
        realtime.publish(event("a.two"), groups=["agent.1"])
    assert sorted(unpacked(messages.sent, "agent.1")) == ["a.one", "a.two", "b.nested"]
    assert unpacked(messages.sent, "agent.1").index("a.one") < unpacked(messages.sent, "agent.1").index("a.two")


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_an_event_leaves_at_once(messages):
    realtime.publish(event("a.now"), groups=["agent.1"])
    assert unpacked(messages.sent, "agent.1") == ["a.now"]


@pytest.mark.django_db(transaction=True)
def test_the_desktop_socket_unpacks_a_batch_into_the_single_events_it_always_received(settings):
    """The desktop protocol is unchanged: a batch reaches the page as its events, one frame each."""
    import asyncio as aio

    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.test import Client

    from apps.users.models import User
    from instant.asgi import application
    from tests.factories import UserFactory

    agent = UserFactory(presence=User.Presence.ONLINE)
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    def commit_two() -> None:
        with transaction.atomic():
            publish_event({"type": "interaction.offer_withdrawn", "data": {"interaction_id": 1, "reason": "x"}}, agent_ids=[agent.pk])
            publish_event({"type": "interaction.taken", "data": {"interaction_id": 2, "by": None, "by_name": ""}}, agent_ids=[agent.pk])

    async def scenario():
        headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]
        comm = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        await sync_to_async(commit_two)()
        frames = [await comm.receive_json_from(timeout=5) for _ in range(2)]
        assert await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()
        return frames

    frames = aio.run(scenario())
    assert frames == [
        {"type": "interaction.offer_withdrawn", "data": {"interaction_id": 1, "reason": "x"}},
        {"type": "interaction.taken", "data": {"interaction_id": 2, "by": None, "by_name": ""}},
    ]
