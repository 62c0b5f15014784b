from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.contacts.models import Tag
from tests.factories import ContactFactory, InteractionFactory

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "account", "queue", "contact", "customer_phone", "status", "owner", "first_agent", "started_at",
    "closed_at", "disposition", "window_expires_at", "last_message_at", "last_message_direction",
    "unread_count", "tags",
}


@pytest.fixture
def in_a(account_a):
    return InteractionFactory(account=account_a, customer_phone="+15551110001", customer_name="Carla Rossi")


@pytest.fixture
def in_b(account_b):
    return InteractionFactory(account=account_b, customer_phone="+15552220002", customer_name="Dario Bianchi")


def ids(response):
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_an_interaction_has_every_contract_field(as_user, sam, in_a):
    tag = Tag.objects.create(name="vip")
    in_a.tags.add(tag)
    row = as_user(sam).get(f"/api/v1/interactions/{in_a.pk}/").json()
    assert CONTRACT_FIELDS <= set(row)
    assert row["tags"] == [tag.pk]
    assert row["customer_phone"] == "+15551110001"
    assert row["customer_name"] == "Carla Rossi"
    assert row["window_open"] is True
    assert row["account_name"] == "Account A"
    assert row["queue_name"] == "Queue A"


def test_an_agent_sees_only_its_queues_interactions(as_user, alice, in_a, in_b):
    assert ids(as_user(alice).get("/api/v1/interactions/")) == {in_a.pk}


def test_an_agent_gets_404_for_an_interaction_of_another_queue(as_user, alice, in_b):
    response = as_user(alice).get(f"/api/v1/interactions/{in_b.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    for sub in ("messages", "notes", "history"):
        assert as_user(alice).get(f"/api/v1/interactions/{in_b.pk}/{sub}/").status_code == 404


def test_an_agent_also_sees_interactions_it_owns_in_other_queues(as_user, alice, account_b):
    mine = InteractionFactory(account=account_b, owner=alice, status="open")
    assert ids(as_user(alice).get("/api/v1/interactions/")) == {mine.pk}


@pytest.mark.parametrize("who", ["sam", "ada"])
def test_supervisors_and_admins_see_everything(request, as_user, who, in_a, in_b):
    assert ids(as_user(request.getfixturevalue(who)).get("/api/v1/interactions/")) == {in_a.pk, in_b.pk}


def test_interactions_filter_by_their_fields(as_user, sam, alice, account_a, in_a, in_b):
    contact = ContactFactory(phone="+15553330003")
    owned = InteractionFactory(account=account_a, owner=alice, first_agent=alice, status="open", contact=contact, customer_phone="+15553330003")
    client = as_user(sam)
    assert ids(client.get("/api/v1/interactions/", {"account": account_a.pk})) == {in_a.pk, owned.pk}
    assert ids(client.get("/api/v1/interactions/", {"queue": in_b.queue_id})) == {in_b.pk}
    assert ids(client.get("/api/v1/interactions/", {"status": "open"})) == {owned.pk}
    assert ids(client.get("/api/v1/interactions/", {"owner": alice.pk})) == {owned.pk}
    assert ids(client.get("/api/v1/interactions/", {"contact": contact.pk})) == {owned.pk}
    assert ids(client.get("/api/v1/interactions/", {"customer_phone": "+15552220002"})) == {in_b.pk}
    # An unencoded "+" arrives as a space; a formatted number still matches.
    assert ids(client.get("/api/v1/interactions/?customer_phone=+15552220002")) == {in_b.pk}
    assert ids(client.get("/api/v1/interactions/", {"customer_phone": "+1 555 222 0002"})) == {in_b.pk}


def test_interactions_search_by_customer_phone_or_name(as_user, sam, in_a, in_b):
    assert ids(as_user(sam).get("/api/v1/interactions/", {"search": "bianchi"})) == {in_b.pk}
    assert ids(as_user(sam).get("/api/v1/interactions/", {"search": "1110001"})) == {in_a.pk}


def test_interactions_can_be_ordered(as_user, sam, account_a):
    old = InteractionFactory(account=account_a, started_at=timezone.now() - timedelta(days=2))
    new = InteractionFactory(account=account_a, started_at=timezone.now())
    rows = as_user(sam).get("/api/v1/interactions/", {"ordering": "started_at"}).json()["results"]
    assert [r["id"] for r in rows] == [old.pk, new.pk]
    rows = as_user(sam).get("/api/v1/interactions/", {"ordering": "-started_at"}).json()["results"]
    assert [r["id"] for r in rows] == [new.pk, old.pk]


def test_a_bad_filter_value_is_a_400_with_a_code(as_user, sam):
    response = as_user(sam).get("/api/v1/interactions/", {"status": "sleeping"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_serializer_works_without_a_request(in_a):
    from apps.interactions.api.serializers import InteractionSerializer

    data = InteractionSerializer(in_a, context={"request": None}).data
    assert data["customer_phone"] == "+15551110001"
    assert CONTRACT_FIELDS <= set(data)
