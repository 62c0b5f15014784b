"""D6: every transfer outcome, to an agent and to a queue, at the service level and over REST."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import InstallationSettings
from apps.interactions.models import Interaction, InteractionEvent
from apps.transfers.models import Transfer
from apps.transfers.services import transfers_expire
from apps.users.models import User
from tests.desk.conftest import api
from tests.factories import QueueFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(db):
    return QueueFactory(name="Sales")


@pytest.fixture
def seller1(sales):
    return UserFactory(username="seller1", presence=User.Presence.ONLINE, queues=[sales])


@pytest.fixture
def seller2(sales):
    return UserFactory(username="seller2", presence=User.Presence.ONLINE, queues=[sales])


@pytest.fixture
def owned(customer_writes, agent1, agent2):
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    return Interaction.objects.get(pk=interaction.pk)


def transfer(user, interaction, **target):
    return api(user).post(f"/api/v1/interactions/{interaction.pk}/transfer/", target, format="json")


def owner_of(interaction):
    return Interaction.objects.get(pk=interaction.pk).owner


def test_a_transfer_to_an_agent_accepted_in_time_changes_the_owner(owned, agent1, agent2):
    response = transfer(agent1, owned, to_agent=agent2.pk)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["to_agent"], body["from_agent"]) == ("pending", agent2.pk, agent1.pk)
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=295) < expires - timezone.now() <= timedelta(seconds=300)
    assert owner_of(owned) == agent1  # until accepted, it stays with the sender
    accepted = api(agent2).post(f"/api/v1/transfers/{body['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert owner_of(owned) == agent2
    assert InteractionEvent.objects.filter(interaction=owned, kind="transfer_accepted", actor=agent2).exists()


def test_a_declined_transfer_leaves_the_owner_unchanged(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    response = api(agent2).post(f"/api/v1/transfers/{transfer_id}/decline/")
    assert response.json()["status"] == "declined"
    assert owner_of(owned) == agent1


def test_an_unanswered_transfer_expires_and_returns_to_the_sender(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    assert transfers_expire(now=timezone.now()) == 0
    assert transfers_expire(now=timezone.now() + timedelta(seconds=301)) == 1
    assert Transfer.objects.get(pk=transfer_id).status == "expired"
    assert owner_of(owned) == agent1
    late = api(agent2).post(f"/api/v1/transfers/{transfer_id}/accept/")
    assert (late.status_code, late.json()["code"]) == (409, "transfer_expired")


def test_accepting_after_the_deadline_fails_even_before_the_sweep_runs(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    Transfer.objects.filter(pk=transfer_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    late = api(agent2).post(f"/api/v1/transfers/{transfer_id}/accept/")
    assert (late.status_code, late.json()["code"]) == (409, "transfer_expired")
    assert owner_of(owned) == agent1


def test_the_timeout_comes_from_the_settings(owned, agent1, agent2):
    InstallationSettings.objects.update(transfer_timeout=20)
    body = transfer(agent1, owned, to_agent=agent2.pk).json()
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert expires - timezone.now() <= timedelta(seconds=20)


def test_only_online_agents_can_be_chosen(owned, agent1, agent2):
    User.objects.filter(pk=agent2.pk).update(presence="paused")
    response = transfer(agent1, owned, to_agent=agent2.pk)
    assert (response.status_code, response.json()["code"]) == (409, "agent_not_online")


def test_only_one_pending_transfer_per_interaction(owned, agent1, agent2, sales, seller1):
    transfer(agent1, owned, to_agent=agent2.pk)
    response = transfer(agent1, owned, to_queue=sales.pk)
    assert (response.status_code, response.json()["code"]) == (409, "transfer_pending")


def test_the_sender_can_cancel_a_pending_transfer(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    assert api(agent2).post(f"/api/v1/transfers/{transfer_id}/cancel/").status_code == 409
    assert api(agent1).post(f"/api/v1/transfers/{transfer_id}/cancel/").json()["status"] == "cancelled"
    assert api(agent2).post(f"/api/v1/transfers/{transfer_id}/accept/").json()["code"] == "transfer_cancelled"


def test_only_the_owner_can_transfer(owned, agent2, agent1):
    response = transfer(agent2, owned, to_agent=agent1.pk)
    assert (response.status_code, response.json()["code"]) == (409, "not_owner")


@pytest.mark.parametrize(
    "mode, target, allowed",
    [("disabled", "to_agent", False), ("disabled", "to_queue", False), ("agent", "to_queue", False),
     ("queue", "to_agent", False), ("agent", "to_agent", True), ("queue", "to_queue", True), ("both", "to_queue", True)],
)
def test_transfers_follow_the_settings(owned, agent1, agent2, sales, seller1, mode, target, allowed):
    InstallationSettings.objects.update(transfers=mode)
    response = transfer(agent1, owned, **{target: agent2.pk if target == "to_agent" else sales.pk})
    if allowed:
        assert response.status_code == 201
    else:
        assert (response.status_code, response.json()["code"]) == (409, "transfers_disabled")


def test_a_transfer_to_a_queue_is_offered_to_its_online_agents_and_the_first_accept_wins(owned, agent1, sales, seller1, seller2):
    body = transfer(agent1, owned, to_queue=sales.pk).json()
    t = Transfer.objects.get(pk=body["id"])
    assert set(t.offered_to.values_list("username", flat=True)) == {"seller1", "seller2"}
    first = api(seller2).post(f"/api/v1/transfers/{t.pk}/accept/")
    second = api(seller1).post(f"/api/v1/transfers/{t.pk}/accept/")
    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, "already_taken")
    assert owner_of(owned) == seller2


def test_a_queue_transfer_nobody_accepts_returns_to_the_sender(owned, agent1, sales, seller1):
    transfer_id = transfer(agent1, owned, to_queue=sales.pk).json()["id"]
    transfers_expire(now=timezone.now() + timedelta(hours=1))
    assert Transfer.objects.get(pk=transfer_id).status == "expired"
    assert owner_of(owned) == agent1


def test_a_queue_transfer_everyone_declines_returns_at_once(owned, agent1, sales, seller1, seller2):
    transfer_id = transfer(agent1, owned, to_queue=sales.pk).json()["id"]
    api(seller1).post(f"/api/v1/transfers/{transfer_id}/decline/")
    assert Transfer.objects.get(pk=transfer_id).status == "pending"
    api(seller2).post(f"/api/v1/transfers/{transfer_id}/decline/")
    assert Transfer.objects.get(pk=transfer_id).status == "declined"
    assert owner_of(owned) == agent1


def test_a_queue_with_nobody_online_gets_the_transfer_when_someone_comes_online(owned, agent1, sales, seller1):
    User.objects.filter(pk=seller1.pk).update(presence="offline")
    transfer_id = transfer(agent1, owned, to_queue=sales.pk).json()["id"]
    assert not Transfer.objects.get(pk=transfer_id).offered_to.exists()
    seller1.refresh_from_db()
    api(seller1).post("/api/v1/presence/", {"presence": "online"}, format="json")
    assert Transfer.objects.get(pk=transfer_id).offered_to.filter(pk=seller1.pk).exists()


def test_an_agent_outside_the_target_queue_cannot_accept(owned, agent1, agent2, sales, seller1):
    transfer_id = transfer(agent1, owned, to_queue=sales.pk).json()["id"]
    response = api(agent2).post(f"/api/v1/transfers/{transfer_id}/accept/")
    assert (response.status_code, response.json()["code"]) == (403, "not_target")


def test_closing_cancels_the_pending_transfer(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    api(agent1).post(f"/api/v1/interactions/{owned.pk}/close/")
    assert Transfer.objects.get(pk=transfer_id).status == "cancelled"


def test_pending_transfers_to_me_are_listed_for_a_reconnecting_desktop(owned, agent1, agent2):
    transfer_id = transfer(agent1, owned, to_agent=agent2.pk).json()["id"]
    listed = api(agent2).get("/api/v1/transfers/?status=pending").json()["results"]
    assert [t["id"] for t in listed] == [transfer_id]
