"""The installation's default region (D8): settings' ``default_region`` reads national numbers typed in "+"."""
from __future__ import annotations

import pytest

from apps.core.models import InstallationSettings
from apps.users.models import User
from tests.api.conftest import client_for
from tests.factories import QueueFactory, TemplateFactory, UserFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

NATIONAL = "07400 123456"  # a UK mobile written the British way; in Italy the same digits are a Milan-area number


@pytest.fixture
def queue(db):
    return QueueFactory(name="Support")


@pytest.fixture
def italian_account(queue):
    return WhatsAppAccountFactory(name="Milano", phone_number="+390212345678", queue=queue)


@pytest.fixture
def agent(queue):
    return client_for(UserFactory(username="alice", role=User.Role.AGENT, queues=[queue]))


@pytest.fixture
def admin(db):
    return client_for(UserFactory(username="ada", role=User.Role.ADMIN))


def lookup(client, account, phone):
    return client.get("/api/v1/interactions/lookup/", {"account": account.pk, "phone": phone})


def test_the_settings_show_a_blank_default_region_until_an_admin_sets_one(admin, agent):
    assert agent.get("/api/v1/settings/").json()["default_region"] == ""
    response = admin.patch("/api/v1/settings/", {"default_region": "gb"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["default_region"] == "GB"
    assert InstallationSettings.load().default_region == "GB"
    assert agent.patch("/api/v1/settings/", {"default_region": "IT"}, format="json").status_code == 403
    cleared = admin.patch("/api/v1/settings/", {"default_region": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["default_region"] == ""


@pytest.mark.parametrize("bad", ["XX", "ITA", "001", "1"])
def test_a_region_phonenumbers_does_not_know_is_refused_with_a_code(admin, bad):
    response = admin.patch("/api/v1/settings/", {"default_region": bad}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_region"
    assert "default_region" in response.json()["errors"]
    assert InstallationSettings.load().default_region == ""


def test_blank_region_reads_national_numbers_in_the_accounts_own_region(agent, italian_account):
    response = lookup(agent, italian_account, NATIONAL)
    assert response.status_code == 200, response.json()
    assert response.json()["phone"] == "+3907400123456"


def test_the_default_region_reads_national_numbers_in_lookup_and_start(agent, admin, italian_account):
    admin.patch("/api/v1/settings/", {"default_region": "GB"}, format="json")
    assert lookup(agent, italian_account, NATIONAL).json()["phone"] == "+447400123456"
    # International numbers keep their own country whatever the default.
    assert lookup(agent, italian_account, "+39 333 123 4567").json()["phone"] == "+393331234567"
    template = TemplateFactory(account=italian_account, body="Hello {{1}}", available_for_agents=True)
    response = agent.post(
        "/api/v1/interactions/start/",
        {"account": italian_account.pk, "phone": NATIONAL, "template": template.pk, "params": ["Sam"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["customer_phone"] == "+447400123456"


def test_a_number_impossible_in_the_default_region_names_the_region(agent, admin, italian_account):
    admin.patch("/api/v1/settings/", {"default_region": "GB"}, format="json")
    response = lookup(agent, italian_account, "12")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone" and "GB" in response.json()["detail"]
