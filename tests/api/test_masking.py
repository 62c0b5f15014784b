from __future__ import annotations

import pytest

from apps.core.masking import mask_email, mask_name, mask_phone, masking_level_for
from apps.core.models import InstallationSettings
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def interaction(account_a):
    return InteractionFactory(account=account_a, customer_phone="+15551234567", customer_name="Carla Rossi")


def set_masking(level: str) -> None:
    settings = InstallationSettings.load()
    settings.masking = level
    settings.save()


def test_mask_phone():
    assert mask_phone("+15551234567", "none") == "+15551234567"
    assert mask_phone("+15551234567", "partial") == "+••••••••567"
    assert mask_phone("+15551234567", "full") == "+•••••••••••"


def test_mask_name_and_email():
    assert mask_name("Carla Rossi", "partial") == "C••• R•••"
    assert mask_name("Carla Rossi", "full") == "•••"
    assert mask_email("carla@example.com", "partial") == "c•••@example.com"
    assert mask_email("carla@example.com", "full") == "•••@•••"
    assert mask_name("", "full") == ""


def test_masking_level_applies_to_agents_only(alice, sam, ada):
    set_masking("full")
    assert masking_level_for(alice) == "full"
    assert masking_level_for(sam) == "none"
    assert masking_level_for(ada) == "none"


@pytest.mark.parametrize(("level", "phone", "name"), [("partial", "+••••••••567", "C••• R•••"), ("full", "+•••••••••••", "•••")])
def test_agents_see_customers_masked(as_user, alice, interaction, level, phone, name):
    set_masking(level)
    for row in (
        as_user(alice).get("/api/v1/interactions/").json()["results"][0],
        as_user(alice).get(f"/api/v1/interactions/{interaction.pk}/").json(),
    ):
        assert (row["customer_phone"], row["customer_name"]) == (phone, name)


def test_supervisors_see_customers_whole(as_user, sam, interaction):
    set_masking("full")
    row = as_user(sam).get(f"/api/v1/interactions/{interaction.pk}/").json()
    assert (row["customer_phone"], row["customer_name"]) == ("+15551234567", "Carla Rossi")


def test_masking_is_off_by_default(as_user, alice, interaction):
    row = as_user(alice).get(f"/api/v1/interactions/{interaction.pk}/").json()
    assert row["customer_phone"] == "+15551234567"
