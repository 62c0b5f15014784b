"""SQL queries per inbound message (issue 11): signed Sandbox webhooks through the real view, tasks inline.

Counted on a real transaction (``transaction=True``), so savepoints are counted where production has
them and the outermost transaction costs no SAVEPOINT/RELEASE pair. SQLite logs its ``BEGIN`` and
``COMMIT`` as queries and PostgreSQL does not (psycopg opens and commits transactions itself): they are
left out, so the counts are the same on both. Three parts are told apart:

- the acknowledgement (the webhook view: verify, store the raw event and its work row);
- the runner (claiming the work row and deleting it when done: ``apps/core/work.py``);
- the processing (the ``providers.webhook`` handler: parse, store, route, publish).

The targets are the issue's: a customer's first message costs at most 12 queries with 5 agents
online, each agent at most one more (offers go in one batch), a follow-up at most 8.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import realtime, work
from apps.interactions.models import Interaction, InteractionOffer, Message
from apps.providers.models import WebhookEvent
from apps.providers.services import WEBHOOK_WORK, webhook_event_process
from apps.users.models import User
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message

pytestmark = pytest.mark.django_db(transaction=True)

TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
FIRST_MESSAGE_MAX = 12
FOLLOW_UP_MAX = 8
ACK_MAX = 3


@dataclasses.dataclass
class Counted:
    ack: list[str]
    runner: list[str]
    handler: list[str]
    published: list[tuple[str, dict]]

    @property
    def processing(self) -> int:
        return len(self.handler)


class RecordingLayer:
    """Every group message the realtime publisher sends, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.sent.append((group, message))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recording)
    return recording


@pytest.fixture
def measure(client, monkeypatch, layer):
    """``measure(account, body)`` posts one signed webhook and returns its queries, by part."""
    marks: dict[str, int] = {}
    kind = work.kinds()[WEBHOOK_WORK]

    def handler(args: dict) -> None:
        marks["handler_start"] = len(connection.queries)
        try:
            kind.handler(args)
        finally:
            marks["handler_end"] = len(connection.queries)

    monkeypatch.setitem(work._kinds, WEBHOOK_WORK, dataclasses.replace(kind, handler=handler))
    waker = work._wakers["sync"]

    def wake(keys):
        marks.setdefault("wake", len(connection.queries))
        waker(keys)

    monkeypatch.setitem(work._wakers, "sync", wake)

    def run(account, body: bytes) -> Counted:
        marks.clear()
        layer.sent.clear()
        with CaptureQueriesContext(connection) as captured:
            response = post_signed(client, account, body, content_type="application/json")
        assert response.status_code == 200
        # CaptureQueriesContext's indices are offsets in connection.queries at its start.
        base = len(connection.queries) - len(captured.captured_queries)
        sql = [q["sql"] for q in captured.captured_queries]
        sql = [q if not TRANSACTION_CONTROL.match(q) else "" for q in sql]
        wake = marks["wake"] - base
        start, end = marks["handler_start"] - base, marks["handler_end"] - base
        return Counted(
            ack=[q for q in sql[:wake] if q],
            runner=[q for q in sql[wake:start] + sql[end:] if q],
            handler=[q for q in sql[start:end] if q],
            published=list(layer.sent),
        )

    return run


def make_queue(agents: int):
    queue = QueueFactory()
    for _ in range(agents):
        UserFactory(presence=User.Presence.ONLINE, queues=[queue])
    return queue, WhatsAppAccountFactory(queue=queue)


def dump(label: str, counted: Counted) -> str:
    lines = [f"{label}: ack {len(counted.ack)}, runner {len(counted.runner)}, processing {counted.processing}"]
    lines += [f"  {q[:160]}" for q in counted.handler]
    return "\n".join(lines)


def groups_sent(counted: Counted) -> list[str]:
    return [group for group, _ in counted.published]


def events_to(counted: Counted, group: str) -> list[str]:
    out = []
    for g, message in counted.published:
        if g == group:
            out += [e["type"] for e in (message["events"] if message["type"] == "events.push" else [message["event"]])]
    return out


def test_a_first_message_with_five_agents_online_costs_at_most_twelve_queries(measure):
    queue, account = make_queue(5)
    first = measure(account, sandbox_message(message_id="q1", phone="+15551230001"))
    assert InteractionOffer.objects.filter(status="offered").count() == 5
    assert first.processing <= FIRST_MESSAGE_MAX, dump("first", first)
    # Its events: one channel-layer message per group (5 agents, the interaction, the queue, the board).
    assert sorted(groups_sent(first)) == sorted(set(groups_sent(first)))
    assert len(groups_sent(first)) == 8
    assert events_to(first, f"queue.{queue.pk}") == ["queue.stats"]


def test_a_follow_up_costs_at_most_eight_queries(measure):
    _, account = make_queue(5)
    measure(account, sandbox_message(message_id="q1", phone="+15551230002"))
    interaction = Interaction.objects.get()
    follow = measure(account, sandbox_message(message_id="q2", phone="+15551230002", text="again"))
    assert interaction.messages.count() == 2
    assert follow.processing <= FOLLOW_UP_MAX, dump("follow-up", follow)
    # Two events, one message: message.created then interaction.updated, in order.
    assert groups_sent(follow) == [f"interaction.{interaction.pk}"]
    assert events_to(follow, f"interaction.{interaction.pk}") == ["message.created", "interaction.updated"]


def test_a_follow_up_to_an_owned_interaction_reads_its_owner_with_it(measure):
    _, account = make_queue(5)
    measure(account, sandbox_message(message_id="q1", phone="+15551230006"))
    interaction = Interaction.objects.get()
    agent = User.objects.filter(queues=interaction.queue).first()
    Interaction.objects.filter(pk=interaction.pk).update(status="open", owner=agent, first_agent=agent)
    follow = measure(account, sandbox_message(message_id="q2", phone="+15551230006", text="again"))
    assert follow.processing <= FOLLOW_UP_MAX, dump("follow-up, owned", follow)
    assert sorted(groups_sent(follow)) == sorted([f"interaction.{interaction.pk}", f"agent.{agent.pk}"])


@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed since"])
def test_a_message_stored_already_is_found_by_its_constraint_and_changes_nothing(measure, layer, closed):
    _, account = make_queue(5)
    measure(account, sandbox_message(message_id="q1", phone="+15551230007"))
    if closed:
        Interaction.objects.update(status="closed")
    before = list(Interaction.objects.values_list("pk", "status", "unread_count"))
    # The admin's reprocess: the same provider message applied again.
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(status="pending")
    layer.sent.clear()
    with CaptureQueriesContext(connection) as captured:
        webhook_event_process(event_id=event.pk)
    queries = [q["sql"] for q in captured.captured_queries if not TRANSACTION_CONTROL.match(q["sql"])]
    assert list(Interaction.objects.values_list("pk", "status", "unread_count")) == before
    assert Message.objects.count() == 1
    assert layer.sent == []
    assert WebhookEvent.objects.get().status == "processed"
    assert len(queries) <= FOLLOW_UP_MAX, queries


def test_each_more_agent_online_costs_at_most_one_query(measure):
    _, one = make_queue(1)
    _, five = make_queue(5)
    with_one = measure(one, sandbox_message(message_id="a1", phone="+15551230003"))
    with_five = measure(five, sandbox_message(message_id="b1", phone="+15551230004"))
    assert InteractionOffer.objects.filter(interaction__account=five).count() == 5
    assert with_five.processing - with_one.processing <= 4, dump("1 agent", with_one) + "\n" + dump("5 agents", with_five)


def test_the_acknowledgement_costs_a_few_queries(measure):
    _, account = make_queue(5)
    first = measure(account, sandbox_message(message_id="q1", phone="+15551230005"))
    # The view: the account, the event's INSERT, its work row's INSERT (apps/providers/webhooks.py).
    assert len(first.ack) <= ACK_MAX, first.ack
    # The runner around the handler: claim (select, update, read back) and delete (apps/core/work.py).
    assert len(first.runner) <= 4, first.runner


def test_a_delivery_status_costs_a_few_queries(measure):
    from tests.factories import InteractionFactory, MessageFactory
    from tests.webhooks import sandbox_status

    queue, account = make_queue(5)
    interaction = InteractionFactory(account=account, queue=queue, status="open")
    MessageFactory(interaction=interaction, account=account, direction="out", status="sent", provider_message_id="out-1")
    status = measure(account, sandbox_status(message_id="out-1", status="delivered"))
    assert status.processing <= FOLLOW_UP_MAX, dump("status", status)
    assert groups_sent(status) == [f"interaction.{interaction.pk}"]


def test_offers_go_in_one_insert_and_a_concurrent_live_offer_only_drops_that_one(monkeypatch):
    """Outside a fresh interaction the batch may meet a live offer made meanwhile: the others still go."""
    from django.db import transaction
    from django.utils import timezone

    from apps.interactions.services import routing
    from tests.factories import InteractionFactory

    queue, account = make_queue(3)
    agents = list(User.objects.filter(queues=queue).order_by("pk"))
    interaction = InteractionFactory(account=account, queue=queue, status="waiting")
    InteractionOffer.objects.create(interaction=interaction, agent=agents[0], expires_at=timezone.now())
    # As if the live offer had been made after the eligible agents were read.
    monkeypatch.setattr(routing, "_eligible_agents", lambda interaction, now, fresh=False: agents)
    with transaction.atomic():
        offers = routing.offer_interaction(interaction=interaction)
    assert sorted(o.agent_id for o in offers) == [a.pk for a in agents[1:]]
    assert InteractionOffer.objects.filter(interaction=interaction, status="offered").count() == 3
