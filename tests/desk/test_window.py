"""D7: the 24-hour window opens, expires and reopens, on stored deadlines (no sleeping)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.interactions.models import Interaction, Message
from apps.interactions.services import message_status_apply, windows_expire
from apps.providers.types import DeliveryStatus, StatusUpdate
from apps.templates.models import Template
from tests.desk.conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(customer_writes, agent1, agent2, account):
    recontact = Template.objects.create(account=account, name="recontact", body="Shall we continue?", status="approved")
    account.recontact_template = recontact
    account.save()
    interaction = customer_writes()
    api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/")
    return Interaction.objects.get(pk=interaction.pk)


def age(interaction, hours):
    """Move the customer's last message into the past, as if time had passed."""
    Interaction.objects.filter(pk=interaction.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=hours),
        window_expires_at=timezone.now() - timedelta(hours=hours) + timedelta(hours=24),
    )


def test_the_window_is_24_hours_after_the_customers_last_message(chat):
    message = chat.messages.get()
    assert chat.window_expires_at == message.created_at + timedelta(hours=24)
    assert chat.window_open()


def test_free_text_after_expiry_is_refused_with_409_window_closed(chat, agent1):
    age(chat, 25)
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": "hi"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "window_closed")


def test_the_sweep_announces_an_expired_window_once(chat):
    age(chat, 25)
    assert windows_expire() == 1
    assert windows_expire() == 0


def test_a_recontact_is_sent_as_the_accounts_template(chat, agent1, on_commit):
    age(chat, 25)
    with on_commit():
        response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/recontact/")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "template" and body["text"] == "Shall we continue?"
    assert Message.objects.get(pk=body["id"]).status == "sent"


def test_without_a_recontact_template_recontact_is_refused(chat, agent1, account):
    account.recontact_template = None
    account.save()
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/recontact/")
    assert (response.status_code, response.json()["code"]) == (409, "no_recontact_template")


def test_the_customers_reply_after_a_recontact_reopens_the_window_on_the_same_interaction(chat, agent1, customer_writes):
    age(chat, 25)
    api(agent1).post(f"/api/v1/interactions/{chat.pk}/recontact/")
    windows_expire()
    again = customer_writes("yes, let's continue")
    assert again.pk == chat.pk
    assert again.window_open()
    assert not again.window_expiry_announced
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": "great"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "provider, code",
    [("meta", "131047"), ("twilio", "63016"), ("sinch", "OUTSIDE_ALLOWED_SENDING_WINDOW"), ("kaleyra", "131047")],
)
def test_a_providers_window_error_fails_the_message_and_closes_the_window(chat, provider, code):
    from apps.accounts.models import WhatsAppAccount
    from tests.webhooks import manifest

    WhatsAppAccount.objects.filter(pk=chat.account_id).update(provider=provider, credentials=manifest(provider)["credentials"])
    message = Message.objects.create(
        interaction=chat, account=chat.account, direction="out", text="late", status="sent", provider_message_id="late-1"
    )
    message_status_apply(
        account=WhatsAppAccount.objects.get(pk=chat.account_id),
        update=StatusUpdate("late-1", DeliveryStatus.FAILED, timezone.now(), code, "Outside the window"),
    )
    message.refresh_from_db()
    assert (message.status, message.error_code, message.window_closed_error) == ("failed", code, True)
    assert not Interaction.objects.get(pk=chat.pk).window_open()


def test_a_template_opened_interaction_gets_24_hours_from_the_templates_delivery(account, agent1):
    interaction = Interaction.objects.create(
        account=account, queue=account.queue, customer_phone="+15550009999", status="open", owner=agent1, origin="agent"
    )
    template = Template.objects.create(account=account, name="hello", body="Hello", status="approved")
    Message.objects.create(
        interaction=interaction, account=account, direction="out", kind="template", template=template,
        status="sent", provider_message_id="tpl-1",
    )
    delivered_at = timezone.now() - timedelta(hours=2)
    message_status_apply(account=account, update=StatusUpdate("tpl-1", DeliveryStatus.DELIVERED, delivered_at))
    interaction.refresh_from_db()
    assert interaction.window_expires_at == delivered_at + timedelta(hours=24)
