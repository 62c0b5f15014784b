"""X1 capacity and X2 nothing stranded, checked on the deadline sweep with a moved clock."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import work
from apps.interactions.models import InteractionOffer
from apps.users.models import User
from tests.desk.conftest import api

pytestmark = pytest.mark.django_db


def live_offers(interaction):
    return set(
        InteractionOffer.objects.filter(interaction=interaction, status="offered").values_list("agent__username", flat=True)
    )


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture
def limited(agent1):
    User.objects.filter(pk=agent1.pk).update(max_open_interactions=1)
    agent1.refresh_from_db()
    return agent1


def test_an_agent_at_the_limit_gets_no_new_offers(customer_writes, limited, agent2):
    first = customer_writes("one", phone="+15550000001")
    assert api(limited).post(f"/api/v1/interactions/{first.pk}/accept/").status_code == 200
    second = customer_writes("two", phone="+15550000002")
    assert live_offers(second) == {"agent2"}


def test_an_agent_without_a_limit_gets_every_offer(customer_writes, agent1, agent2):
    first = customer_writes("one", phone="+15550000001")
    api(agent1).post(f"/api/v1/interactions/{first.pk}/accept/")
    second = customer_writes("two", phone="+15550000002")
    assert live_offers(second) == {"agent1", "agent2"}


def test_reaching_the_limit_withdraws_the_agents_other_offers(customer_writes, limited, agent2):
    first = customer_writes("one", phone="+15550000001")
    second = customer_writes("two", phone="+15550000002")
    assert live_offers(second) == {"agent1", "agent2"}
    api(limited).post(f"/api/v1/interactions/{first.pk}/accept/")
    assert live_offers(second) == {"agent2"}
    assert InteractionOffer.objects.get(interaction=second, agent=limited).status == "withdrawn"


def test_accepting_beyond_the_limit_is_refused(customer_writes, limited, agent2):
    first = customer_writes("one", phone="+15550000001")
    api(agent2).post(f"/api/v1/interactions/{first.pk}/reject/")
    second = customer_writes("two", phone="+15550000002")
    api(limited).post(f"/api/v1/interactions/{first.pk}/accept/")
    # Picked from the queue panel although the limit is reached.
    response = api(limited).post(f"/api/v1/interactions/{second.pk}/accept/")
    assert (response.status_code, response.json()["code"]) == (409, "at_capacity")


def test_closing_offers_the_oldest_waiting_interaction_of_the_agents_queues(customer_writes, limited, agent2, on_commit):
    User.objects.filter(pk=agent2.pk).update(presence="offline")
    first = customer_writes("one", phone="+15550000001")
    api(limited).post(f"/api/v1/interactions/{first.pk}/accept/")
    older = customer_writes("two", phone="+15550000002")
    newer = customer_writes("three", phone="+15550000003")
    assert live_offers(older) == set() and live_offers(newer) == set()
    with on_commit():
        assert api(limited).post(f"/api/v1/interactions/{first.pk}/close/").status_code == 200
    assert live_offers(older) == {"agent1"}
    # Still below the limit while only offered: the next one may go out too, but the oldest first.
    assert InteractionOffer.objects.filter(agent=limited, status="offered").order_by("created_at").first().interaction == older


def test_an_interaction_everyone_rejected_is_offered_again_after_the_pause(customer_writes, agent1, agent2, settings):
    settings.INSTANT_REOFFER_PAUSE_SECONDS = 30
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    api(agent2).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    assert work.sweep(now=later(10))["reoffer"] == 0
    assert live_offers(interaction) == set()
    assert work.sweep(now=later(31))["reoffer"] == 1
    assert live_offers(interaction) == {"agent1", "agent2"}


def test_an_interaction_whose_offers_expired_is_offered_again_after_the_pause(customer_writes, agent1, agent2, support, settings):
    settings.INSTANT_REOFFER_PAUSE_SECONDS = 30
    interaction = customer_writes()
    expiry = support.offer_timeout
    done = work.sweep(now=later(expiry + 1))
    assert done["offers"] == 2 and done["reoffer"] == 0
    assert live_offers(interaction) == set()
    assert work.sweep(now=later(expiry + 20))["reoffer"] == 0
    assert work.sweep(now=later(expiry + 32))["reoffer"] == 1
    assert live_offers(interaction) == {"agent1", "agent2"}


def test_one_rejection_with_another_offer_live_is_not_offered_again(customer_writes, agent1, agent2, settings):
    settings.INSTANT_REOFFER_PAUSE_SECONDS = 30
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    InteractionOffer.objects.filter(agent=agent2).update(expires_at=later(3600))
    assert work.sweep(now=later(60))["reoffer"] == 0
    assert live_offers(interaction) == {"agent2"}


def test_the_re_offer_skips_an_agent_at_the_limit(customer_writes, limited, agent2, settings):
    settings.INSTANT_REOFFER_PAUSE_SECONDS = 30
    busy = customer_writes("one", phone="+15550000001")
    api(limited).post(f"/api/v1/interactions/{busy.pk}/accept/")
    stranded = customer_writes("two", phone="+15550000002")
    api(agent2).post(f"/api/v1/interactions/{stranded.pk}/reject/")
    assert work.sweep(now=later(31))["reoffer"] == 1
    assert live_offers(stranded) == {"agent2"}


def test_the_re_offer_never_offers_a_closed_or_taken_interaction(customer_writes, agent1, agent2, settings):
    settings.INSTANT_REOFFER_PAUSE_SECONDS = 30
    interaction = customer_writes()
    api(agent2).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    assert work.sweep(now=later(31))["reoffer"] == 0
    assert live_offers(interaction) == set()


def test_users_api_exposes_the_limit_and_null_means_no_limit(agent1, db):
    admin = User.objects.create_user("root", password="x", role=User.Role.ADMIN)
    body = api(admin).get(f"/api/v1/users/{agent1.pk}/").json()
    assert body["max_open_interactions"] is None
    response = api(admin).patch(f"/api/v1/users/{agent1.pk}/", {"max_open_interactions": 2}, format="json")
    assert response.status_code == 200 and response.json()["max_open_interactions"] == 2
    agent1.refresh_from_db()
    assert agent1.max_open_interactions == 2
