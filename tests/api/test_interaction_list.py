"""D10/S3 the interactions list: filter combinations through the API, visibility, the row extras."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.contacts.models import Tag
from tests.factories import InteractionFactory, MessageFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def rows(alice, bob, account_a, account_b):
    """Five interactions over two accounts, two agents, two tags and three days."""
    vip, late = Tag.objects.create(name="vip"), Tag.objects.create(name="late")
    made = {
        "a_open_unread": InteractionFactory(
            account=account_a, status="open", owner=alice, first_agent=alice, unread_count=2,
            started_at=NOW - timedelta(days=2), customer_name="Carla Rossi", customer_phone="+15550000001",
        ),
        "a_closed_read": InteractionFactory(
            account=account_a, status="closed", owner=alice, first_agent=alice, unread_count=0,
            started_at=NOW - timedelta(days=1), customer_name="Dario Bianchi", customer_phone="+15550000002",
            last_message_direction="out",
        ),
        "a_waiting": InteractionFactory(
            account=account_a, status="waiting", unread_count=1,
            started_at=NOW - timedelta(hours=1), customer_name="Elsa Verdi", customer_phone="+15550000003",
        ),
        "b_open": InteractionFactory(
            account=account_b, status="open", owner=bob, first_agent=bob, unread_count=0,
            started_at=NOW - timedelta(days=1), customer_name="Fabio Neri", customer_phone="+15550000004",
        ),
        "b_closed_unread": InteractionFactory(
            account=account_b, status="closed", owner=bob, first_agent=bob, unread_count=3,
            started_at=NOW - timedelta(days=3), customer_name="Gina Blu", customer_phone="+15550000005",
        ),
    }
    made["a_open_unread"].tags.set([vip, late])
    made["a_closed_read"].tags.set([vip])
    made["b_open"].tags.set([vip, late])
    MessageFactory(interaction=made["a_closed_read"], text="The parcel arrived damaged")
    MessageFactory(interaction=made["b_open"], text="Where is my parcel?")
    made["tags"] = {"vip": vip.pk, "late": late.pk}
    return made


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def pks(rows, *names) -> set[int]:
    return {rows[name].pk for name in names}


def test_a_supervisor_lists_every_queue_and_an_agent_only_theirs(rows, as_user, sam, alice):
    assert ids(as_user(sam).get("/api/v1/interactions/")) == pks(rows, "a_open_unread", "a_closed_read", "a_waiting", "b_open", "b_closed_unread")
    assert ids(as_user(alice).get("/api/v1/interactions/")) == pks(rows, "a_open_unread", "a_closed_read", "a_waiting")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("closed=true", {"a_closed_read", "b_closed_unread"}),
        ("closed=false", {"a_open_unread", "a_waiting", "b_open"}),
        ("unread=true", {"a_open_unread", "a_waiting", "b_closed_unread"}),
        ("unread=false&closed=true", {"a_closed_read"}),
        ("account={account_b}&unread=true", {"b_closed_unread"}),
        ("first_agent={alice}", {"a_open_unread", "a_closed_read"}),
        ("first_agent={bob}&closed=false", {"b_open"}),
        ("tags={vip}", {"a_open_unread", "a_closed_read", "b_open"}),
        ("tags={vip}&tags={late}", {"a_open_unread", "b_open"}),
        ("tags={vip}&tags={late}&account={account_a}", {"a_open_unread"}),
        ("started_after={two_days_ago}", {"a_closed_read", "a_waiting", "b_open"}),
        ("started_after={four_days_ago}&started_before={two_days_ago}", {"a_open_unread", "b_closed_unread"}),
        ("status=waiting", {"a_waiting"}),
        ("q=parcel", {"a_closed_read", "b_open"}),
        ("q=carla", {"a_open_unread"}),
        ("q=0000004", {"b_open"}),
        ("q=parcel&closed=false", {"b_open"}),
        ("text=damaged", {"a_closed_read"}),
        ("customer_name=gina", {"b_closed_unread"}),
        ("direction=out", {"a_closed_read"}),
    ],
)
def test_filter_combinations(rows, as_user, sam, alice, bob, account_a, account_b, query, expected):
    from urllib.parse import quote

    values = {
        "account_a": account_a.pk, "account_b": account_b.pk, "alice": alice.pk, "bob": bob.pk,
        "vip": rows["tags"]["vip"], "late": rows["tags"]["late"],
        "two_days_ago": quote((NOW - timedelta(days=2) + timedelta(minutes=1)).isoformat()),
        "four_days_ago": quote((NOW - timedelta(days=4)).isoformat()),
    }
    assert ids(as_user(sam).get("/api/v1/interactions/?" + query.format(**values))) == pks(rows, *expected)


def test_an_agents_filters_never_reach_beyond_their_queues(rows, as_user, alice, account_b):
    assert ids(as_user(alice).get(f"/api/v1/interactions/?account={account_b.pk}")) == set()
    assert ids(as_user(alice).get("/api/v1/interactions/?q=parcel")) == pks(rows, "a_closed_read")


def test_an_unknown_tag_is_a_400_with_a_code(rows, as_user, sam):
    response = as_user(sam).get("/api/v1/interactions/?tags=999999")
    assert response.status_code == 400 and response.json()["code"]


def test_each_row_counts_later_interactions_of_the_same_customer_no_agent_has_taken(rows, as_user, sam, account_a):
    earlier = rows["a_closed_read"]
    InteractionFactory(
        account=account_a, status="closed", customer_phone=earlier.customer_phone,
        started_at=NOW - timedelta(hours=5),
    )  # closed untaken: still not managed
    body = as_user(sam).get("/api/v1/interactions/?page_size=50").json()
    counts = {row["id"]: row["unmanaged_count"] for row in body["results"]}
    assert counts[earlier.pk] == 1
    assert counts[rows["a_open_unread"].pk] == 0
    row = next(r for r in body["results"] if r["id"] == earlier.pk)
    assert row["last_message_direction"] == "out"


@pytest.mark.parametrize(
    "value, status",
    [
        ("0076-04-04T22:10:18-20:09", 200),  # an offset PostgreSQL refuses, read in UTC instead
        ("2020-01-01T00:00:00+23:59", 200),
        ("0001-01-01T00:00:00+05:00", 400),  # before year 1 in UTC: out of range, a 400 with a code
        ("not a date", 400),
    ],
)
def test_date_filters_take_any_offset_python_reads_and_refuse_the_rest_with_a_code(rows, as_user, sam, value, status):
    from urllib.parse import quote

    response = as_user(sam).get(f"/api/v1/interactions/?started_after={quote(value)}")
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["code"]
