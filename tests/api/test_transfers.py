from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.transfers.api.serializers import TransferSerializer
from apps.transfers.models import Transfer
from tests.factories import InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANSFER_FIELDS = {"id", "interaction", "from_agent", "to_agent", "to_queue", "status", "created_at", "expires_at", "accepted_by"}


@pytest.fixture
def transfer(account_a, alice, bob):
    interaction = InteractionFactory(account=account_a, owner=alice, status="open")
    return Transfer.objects.create(
        interaction=interaction, from_agent=alice, to_agent=bob, expires_at=timezone.now() + timedelta(minutes=5)
    )


def test_the_transfer_serializer_works_without_a_request(transfer, alice, bob):
    data = TransferSerializer(transfer, context={"request": None}).data
    assert TRANSFER_FIELDS <= set(data)
    assert (data["from_agent"], data["to_agent"], data["status"]) == (alice.pk, bob.pk, "pending")


def test_transfers_are_listed_for_those_who_see_the_interaction_and_the_target(as_user, transfer, alice, bob, sam):
    outsider = UserFactory(username="otto")
    for user in (alice, bob, sam):
        assert [t["id"] for t in as_user(user).get("/api/v1/transfers/").json()["results"]] == [transfer.pk]
    assert as_user(outsider).get("/api/v1/transfers/").json()["results"] == []
    assert as_user(outsider).get(f"/api/v1/transfers/{transfer.pk}/").status_code == 404
