"""Webhooks processed in batches (issue 11): one claim of several stored events runs in one transaction.

Through the real webhook view: the events are stored and acknowledged as always, the wake-ups are held
back, and one ``run_due`` claims them together, as a worker that fell behind does. The outcome must be
the one-by-one outcome (every message once, counts and windows right, first messages offered, every
event marked) for a handful of statements per batch; anything out of the ordinary (a duplicate, a
payload that does not parse) sends the batch's events through the one-by-one path instead.
"""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import realtime, work
from apps.core.models import Job
from apps.interactions.models import Interaction, InteractionOffer, Message
from apps.providers.models import WebhookEvent
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory
from tests.test_query_counts import RecordingLayer
from tests.webhooks import post_signed, sandbox_message

# Store and acknowledge only: the work rows wait for each test's own ``run_due``.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("held_wakeups")]

CUSTOMERS = [f"+1555700000{n}" for n in range(4)]


@pytest.fixture
def layer(monkeypatch) -> RecordingLayer:
    recording = RecordingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: recording)
    return recording


@pytest.fixture
def account():
    queue = QueueFactory()
    for _ in range(2):
        UserFactory(presence="online").queues.add(queue)
    return WhatsAppAccountFactory(queue=queue)


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """The size of every batch the runner completed (a batch that fell back is not counted)."""
    sizes: list[int] = []
    real = work._execute_batch

    def spy(kind, jobs):
        done = real(kind, jobs)
        if done:
            sizes.append(len(jobs))
        return done

    monkeypatch.setattr(work, "_execute_batch", spy)
    return sizes


def post(client, account, message_id: str, phone: str, text: str = "hi") -> None:
    body = sandbox_message(message_id=message_id, phone=phone, text=text)
    assert post_signed(client, account, body, content_type="application/json").status_code == 200


def test_a_backlog_is_processed_in_one_batch_with_the_one_by_one_outcome(client, account, layer, batches):
    # Two customers already talking, two new ones; three messages each, interleaved.
    for n, phone in enumerate(CUSTOMERS[:2]):
        post(client, account, f"old-{n}", phone)
    work.run_due()
    existing = {i.customer_phone: i for i in Interaction.objects.all()}
    layer.sent.clear()
    batches.clear()
    for round_ in range(3):
        for n, phone in enumerate(CUSTOMERS):
            post(client, account, f"m-{round_}-{n}", phone, text=f"round {round_}")
    assert Job.objects.count() == 12

    assert work.run_due() == 12
    assert batches == [12]
    assert not Job.objects.exists()
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    assert Message.objects.filter(direction="in").count() == 14  # 2 earlier + 12, each once
    for phone in CUSTOMERS:
        interaction = Interaction.objects.get(customer_phone=phone)
        texts = list(interaction.messages.order_by("created_at", "pk").values_list("text", flat=True))
        assert texts[-3:] == ["round 0", "round 1", "round 2"]  # in the order they came
        assert interaction.unread_count == len(texts)
        latest = interaction.messages.order_by("-created_at").first()
        assert interaction.last_message_at == latest.created_at
        assert interaction.window_expires_at is not None
    # The new customers' interactions were opened and offered to both agents, once.
    for phone in CUSTOMERS[2:]:
        interaction = Interaction.objects.get(customer_phone=phone)
        assert interaction.status == "waiting"
        assert InteractionOffer.objects.filter(interaction=interaction).count() == 2
    # Every message has its message.created; a known interaction one interaction.updated, its state after the batch.
    for phone, interaction in existing.items():
        group = f"interaction.{interaction.pk}"
        assert [e["type"] for e in _events(layer, group)] == ["message.created"] * 3 + ["interaction.updated"]
        updated = _events(layer, group)[-1]
        assert updated["data"]["interaction"]["unread_count"] == 4


def test_a_batch_costs_a_few_statements_not_a_few_per_message(client, account, layer):
    for n, phone in enumerate(CUSTOMERS):
        post(client, account, f"old-{n}", phone)
    work.run_due()
    for round_ in range(5):
        for n, phone in enumerate(CUSTOMERS):
            post(client, account, f"m-{round_}-{n}", phone)
    with CaptureQueriesContext(connection) as captured:
        assert work.run_due() == 20
    statements = [q["sql"] for q in captured.captured_queries if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT")]
    # claim (3), the lock timeout (PostgreSQL), the events, the interactions, their tags, one INSERT of the messages,
    # one UPDATE of the interactions, one of the events, the rows' DELETE, then an empty claim: one
    # at a time it was about eight per message.
    assert len(statements) <= 12, "\n".join(statements)
    assert Message.objects.filter(direction="in").count() == 24


def test_a_message_stored_already_sends_the_batch_one_by_one_and_is_kept_once(client, account, batches):
    post(client, account, "old", CUSTOMERS[0])
    work.run_due()
    # The same message id in another envelope (a new event key): the batch's INSERT would break.
    for n, phone in enumerate(CUSTOMERS):
        post(client, account, f"m-{n}", phone)
    event = WebhookEvent.objects.get(event_key="msg:old")
    WebhookEvent.objects.create(
        account=account, provider=account.provider, event_key="again", method="POST", headers=event.headers,
        query=[], body=bytes(event.body),
    )
    work.enqueue(
        "providers.webhook", key=f"webhook:{WebhookEvent.objects.get(event_key='again').pk}",
        args={"event_id": WebhookEvent.objects.get(event_key="again").pk},
    )
    batches.clear()
    assert work.run_due() == 5
    assert batches == []  # the batch fell back
    assert Message.objects.filter(provider_message_id="old").count() == 1
    assert Message.objects.filter(direction="in").count() == 5
    assert not Job.objects.exists()
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_payload_that_does_not_parse_fails_alone_and_the_others_are_processed(client, account, batches):
    for n, phone in enumerate(CUSTOMERS):
        post(client, account, f"m-{n}", phone)
    assert post_signed(client, account, b"{not json", content_type="application/json").status_code == 200
    batches.clear()
    assert work.run_due() == 5
    assert batches == []
    assert Message.objects.filter(direction="in").count() == 4
    assert WebhookEvent.objects.filter(status="failed").count() == 1
    assert WebhookEvent.objects.filter(status="processed").count() == 4


def _events(layer: RecordingLayer, group: str) -> list[dict]:
    out = []
    for g, message in layer.sent:
        if g == group:
            out += message["events"] if message["type"] == "events.push" else [message["event"]]
    return out


def test_a_batch_of_new_customers_reads_the_queues_agents_once_and_offers_each_to_all(client, account, layer):
    for n, phone in enumerate(CUSTOMERS):
        post(client, account, f"new-{n}", phone)
    with CaptureQueriesContext(connection) as captured:
        assert work.run_due() == 4
    agents_reads = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"] and "users_user" in q["sql"]]
    assert len(agents_reads) == 1
    assert InteractionOffer.objects.count() == 4 * 2
    # The queue's counters once, after the last new interaction, with all four waiting.
    stats = [e for e in _events(layer, f"queue.{account.queue_id}") if e["type"] == "queue.stats"]
    assert len(stats) == 1 and stats[0]["data"]["waiting"] == 4
