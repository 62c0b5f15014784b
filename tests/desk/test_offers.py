"""D2: offers to every online agent, reject, first accept wins, waiting when nobody takes it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.interactions.models import Interaction, InteractionOffer
from apps.interactions.services import offers_expire
from apps.users.models import User
from apps.users.services import user_set_presence
from tests.desk.conftest import api

pytestmark = pytest.mark.django_db


def live_offers(interaction):
    return set(
        InteractionOffer.objects.filter(interaction=interaction, status="offered").values_list("agent__username", flat=True)
    )


def test_a_new_interaction_is_offered_to_every_online_agent_of_its_queue(customer_writes, agent1, agent2, outsider):
    interaction = customer_writes()
    assert live_offers(interaction) == {"agent1", "agent2"}


def test_paused_and_offline_agents_get_no_offer(customer_writes, agent1, agent2):
    User.objects.filter(pk=agent2.pk).update(presence="paused")
    interaction = customer_writes()
    assert live_offers(interaction) == {"agent1"}


def test_rejecting_passes_it_on_and_it_keeps_waiting(customer_writes, agent1, agent2):
    interaction = customer_writes()
    response = api(agent2).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    assert response.status_code == 200
    assert live_offers(interaction) == {"agent1"}
    interaction.refresh_from_db()
    assert interaction.status == "waiting"


def test_when_everyone_rejects_it_waits_in_the_queue_count(customer_writes, agent1, agent2, support):
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    api(agent2).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    assert live_offers(interaction) == set()
    queue = api(agent1).get(f"/api/v1/queues/{support.pk}/").json()
    assert queue["waiting"] == 1


def test_the_first_accept_wins_and_the_others_get_409_already_taken(customer_writes, agent1, agent2):
    interaction = customer_writes()
    first = api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    second = api(agent2).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    again = api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    assert first.status_code == 200
    assert first.json()["status"] == "open" and first.json()["owner"] == agent1.pk
    assert (second.status_code, second.json()["code"]) == (409, "already_taken")
    assert (again.status_code, again.json()["code"]) == (409, "already_taken")
    interaction.refresh_from_db()
    assert interaction.first_agent == agent1
    statuses = dict(InteractionOffer.objects.filter(interaction=interaction).values_list("agent__username", "status"))
    assert statuses == {"agent1": "accepted", "agent2": "taken"}


def test_an_agent_of_another_queue_cannot_accept(customer_writes, agent1, outsider):
    interaction = customer_writes()
    response = api(outsider).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    assert response.status_code == 404


def test_with_nobody_online_it_waits_and_is_offered_when_an_agent_comes_online(customer_writes, agent1, agent2, on_commit):
    User.objects.update(presence="offline")
    interaction = customer_writes()
    assert live_offers(interaction) == set()
    agent1.refresh_from_db()
    with on_commit():
        response = api(agent1).post("/api/v1/presence/", {"presence": "online"}, format="json")
    assert response.status_code == 200
    assert live_offers(interaction) == {"agent1"}


def test_an_agent_who_rejected_is_offered_again_after_a_pause(customer_writes, agent1, agent2):
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/reject/")
    user_set_presence(user=agent1, presence="paused")
    user_set_presence(user=agent1, presence="online")
    assert "agent1" in live_offers(interaction)


def test_pausing_withdraws_the_agents_live_offers(customer_writes, agent1, agent2):
    interaction = customer_writes()
    user_set_presence(user=agent2, presence="paused")
    assert live_offers(interaction) == {"agent1"}


def test_an_offer_nobody_answers_expires_at_its_stored_deadline(customer_writes, agent1, agent2):
    interaction = customer_writes()
    assert offers_expire(now=timezone.now()) == 0
    later = timezone.now() + timedelta(seconds=interaction.queue.offer_timeout + 1)
    assert offers_expire(now=later) == 2
    assert live_offers(interaction) == set()
    assert Interaction.objects.get(pk=interaction.pk).status == "waiting"


def test_my_live_offers_are_listed_for_a_reconnecting_desktop(customer_writes, agent1, agent2):
    interaction = customer_writes()
    body = api(agent1).get("/api/v1/offers/").json()
    assert [o["interaction"]["id"] for o in body["results"]] == [interaction.pk]
    assert body["results"][0]["expires_at"]
    assert body["results"][0]["preview"] == "Hello"
