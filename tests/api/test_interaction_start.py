"""D8 through the API: ``interactions/lookup/`` and ``interactions/start/`` follow the seeds' four rules."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.interactions.models import Interaction, Message
from apps.interactions.services import message_status_apply, outbound
from apps.providers.types import DeliveryStatus, StatusUpdate
from tests.factories import ContactFactory, InteractionFactory, TemplateFactory

pytestmark = pytest.mark.django_db

PHONE = "+15557770001"


@pytest.fixture
def greeting(account_a):
    return TemplateFactory(
        account=account_a, name="greeting", body="Hello {{1}}, how can we help?", available_for_agents=True
    )


@pytest.fixture
def no_campaigns(monkeypatch):
    """Leave out the campaigns' hook so a test decides what is pending."""
    monkeypatch.setattr(outbound, "campaign_pending_checks", [])
    return outbound.campaign_pending_checks


def start(client, **body):
    return client.post("/api/v1/interactions/start/", body, format="json")


def test_unknown_number_lookup_says_templates_only(as_user, alice, account_a, greeting):
    response = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": PHONE})
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "phone": PHONE, "contact": None, "contact_name": "", "window_open": False,
        "open_interaction": None, "owner": None, "campaign_pending": False,
    }


def test_closed_window_a_template_opens_an_interaction_owned_by_the_agent(as_user, alice, account_a, greeting, on_commit):
    contact = ContactFactory(phone=PHONE, first_name="Nina")
    account_a.contact_list = contact.contact_list  # the account files its customers in that list
    account_a.save()
    with on_commit():
        response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=["Nina"])
    assert response.status_code == 201, response.json()
    row = response.json()
    assert (row["owner"], row["status"], row["customer_phone"], row["contact"]) == (alice.pk, "open", PHONE, contact.pk)
    interaction = Interaction.objects.get(pk=row["id"])
    assert interaction.origin == "agent" and interaction.window_expires_at is None
    message = interaction.messages.get()
    assert (message.kind, message.text, message.template_params) == ("template", "Hello Nina, how can we help?", ["Nina"])
    # The Sandbox accepted the send; the window starts when the template is delivered, not before.
    assert message.status == "sent" and message.provider_message_id


def test_the_window_starts_when_the_template_is_delivered(as_user, alice, account_a, greeting, on_commit):
    with on_commit():
        row = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=["Nina"]).json()
    message = Message.objects.get(interaction_id=row["id"])
    delivered = timezone.now()
    message_status_apply(
        account=account_a,
        update=StatusUpdate(provider_message_id=message.provider_message_id, status=DeliveryStatus.DELIVERED, timestamp=delivered),
    )
    assert Interaction.objects.get(pk=row["id"]).window_expires_at == delivered + timedelta(hours=24)


def test_free_text_needs_an_open_window(as_user, alice, account_a):
    response = start(as_user(alice), account=account_a.pk, phone=PHONE, text="Hi!")
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    assert not Interaction.objects.exists()


def test_open_window_normal_text_starts_a_new_interaction(as_user, alice, account_a):
    earlier = InteractionFactory(
        account=account_a, customer_phone=PHONE, status=Interaction.Status.CLOSED,
        window_expires_at=timezone.now() + timedelta(hours=3),
    )
    lookup = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": PHONE}).json()
    assert lookup["window_open"] is True and lookup["open_interaction"] is None
    response = start(as_user(alice), account=account_a.pk, phone=PHONE, text="Following up on your order")
    assert response.status_code == 201, response.json()
    row = response.json()
    assert row["id"] != earlier.pk and row["owner"] == alice.pk and row["status"] == "open"
    message = Message.objects.get(interaction_id=row["id"])
    assert (message.kind, message.text) == ("text", "Following up on your order")


def test_an_open_interaction_with_another_agent_is_refused(as_user, alice, bob, account_a, greeting, queue_a):
    queue_a.agents.add(bob)
    InteractionFactory(account=account_a, customer_phone=PHONE, status=Interaction.Status.OPEN, owner=bob)
    lookup = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": PHONE}).json()
    assert lookup["owner"] == bob.pk and lookup["open_interaction"]
    response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=["x"])
    assert response.status_code == 409
    assert response.json()["code"] == "open_elsewhere"
    assert not Message.objects.exists()


def test_a_pending_campaign_message_is_refused(as_user, alice, account_a, greeting, no_campaigns):
    no_campaigns.append(lambda *, account, phone: phone == PHONE)
    lookup = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": PHONE}).json()
    assert lookup["campaign_pending"] is True
    response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=["x"])
    assert response.status_code == 409
    assert response.json()["code"] == "campaign_pending"
    assert not Interaction.objects.exists()


def test_only_approved_templates_available_for_agents(as_user, alice, account_a, greeting):
    hidden = TemplateFactory(account=account_a, name="internal", body="Hi", available_for_agents=False)
    paused = TemplateFactory(account=account_a, name="paused", body="Hi", available_for_agents=True, status="paused")
    for template in (hidden, paused):
        response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=template.pk, params=[])
        assert response.status_code == 400
        assert response.json()["code"] == "template_not_available"


def test_a_parameter_count_mismatch_is_refused_before_anything_is_sent(as_user, alice, account_a, greeting):
    response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=[])
    assert response.status_code == 400
    assert response.json()["code"] == "wrong_param_count"
    assert not Interaction.objects.exists()


def test_a_national_number_takes_the_accounts_region(as_user, alice, account_a):
    account_a.phone_number = "+390212345678"
    account_a.save()
    response = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": "347 123 4567"})
    assert response.json()["phone"] == "+393471234567"
    bad = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": "12"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_phone"


def test_an_agent_cannot_start_on_another_queues_account(as_user, alice, account_b):
    response = as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_b.pk, "phone": PHONE})
    assert response.status_code == 404


def test_a_contact_of_an_unrelated_list_is_not_linked(as_user, alice, account_a, greeting, on_commit):
    """As for an inbound customer (D11): only the account's and its queue's lists are searched."""
    ContactFactory(phone=PHONE, first_name="Somebody else's")
    assert as_user(alice).get("/api/v1/interactions/lookup/", {"account": account_a.pk, "phone": PHONE}).json()["contact"] is None
    with on_commit():
        response = start(as_user(alice), account=account_a.pk, phone=PHONE, template=greeting.pk, params=["Nina"])
    assert response.status_code == 201, response.json()
    assert response.json()["contact"] is None
