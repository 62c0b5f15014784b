"""The inbound pipeline through the real webhook view, played by the Sandbox provider."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from apps.contacts.models import Contact
from apps.interactions.models import Interaction, Message
from apps.providers.models import WebhookEvent
from tests.factories import ContactListFactory, InteractionFactory, MessageFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message, sandbox_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return WhatsAppAccountFactory(contact_list=ContactListFactory(name="Inbound"))


def post(client, account, body, on_commit, **kw):
    with on_commit():
        return post_signed(client, account, body, content_type="application/json", **kw)


def test_a_first_message_opens_a_waiting_interaction_in_the_accounts_queue(client, account, on_commit):
    response = post(client, account, sandbox_message(message_id="m1", text="Hi there"), on_commit)
    assert response.status_code == 200
    interaction = Interaction.objects.get()
    assert interaction.status == "waiting"
    assert interaction.queue == account.queue
    assert interaction.customer_phone == "+15551234567"
    assert interaction.unread_count == 1
    assert interaction.messages.get().text == "Hi there"
    assert WebhookEvent.objects.get().status == "processed"


def test_an_unknown_number_becomes_a_contact_in_the_accounts_list(client, account, on_commit):
    post(client, account, sandbox_message(message_id="m1"), on_commit)
    contact = Contact.objects.get()
    assert contact.phone == "+15551234567"
    assert contact.contact_list == account.contact_list
    assert contact.created_automatically
    assert Interaction.objects.get().contact == contact


def test_no_contact_is_created_when_the_trigger_is_off(client, on_commit):
    account = WhatsAppAccountFactory(create_contacts=False, contact_list=ContactListFactory())
    post(client, account, sandbox_message(message_id="m1"), on_commit)
    assert not Contact.objects.exists()
    assert Interaction.objects.get().contact is None


def test_a_known_number_is_linked_to_its_existing_contact(client, account, on_commit):
    contact = Contact.objects.create(contact_list=account.contact_list, first_name="Jane", phone="+15551234567")
    post(client, account, sandbox_message(message_id="m1"), on_commit)
    assert Interaction.objects.get().contact == contact
    assert Contact.objects.count() == 1


def test_the_same_number_joins_its_open_interaction(client, account, on_commit):
    post(client, account, sandbox_message(message_id="m1"), on_commit)
    post(client, account, sandbox_message(message_id="m2"), on_commit)
    interaction = Interaction.objects.get()
    assert interaction.messages.count() == 2
    assert interaction.unread_count == 2


def test_after_closing_the_next_message_opens_a_new_interaction(client, account, on_commit):
    post(client, account, sandbox_message(message_id="m1"), on_commit)
    Interaction.objects.update(status="closed")
    post(client, account, sandbox_message(message_id="m2"), on_commit)
    assert Interaction.objects.count() == 2
    assert Interaction.objects.filter(status="waiting").count() == 1


def test_the_same_webhook_delivered_five_times_gives_one_message(client, account, on_commit):
    body = sandbox_message(message_id="dup")
    for _ in range(5):
        assert post(client, account, body, on_commit).status_code == 200
    assert Message.objects.count() == 1
    event = WebhookEvent.objects.get()
    assert event.duplicates == 4


def test_a_message_redelivered_in_a_different_envelope_is_still_stored_once(client, account, on_commit):
    post(client, account, sandbox_message(message_id="same", text="a"), on_commit)
    post(client, account, sandbox_message(message_id="same", text="a", name="Other"), on_commit)
    assert Message.objects.count() == 1


def test_a_bad_signature_is_refused_with_403_and_stores_nothing(client, account, on_commit):
    body = sandbox_message(message_id="m1")
    with on_commit():
        response = client.post(
            account.webhook_path, data=body, content_type="application/json", headers={"X-Sandbox-Signature": "sha256=00"}
        )
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert not WebhookEvent.objects.exists()
    assert not Message.objects.exists()


def test_a_missing_signature_is_refused_with_403_and_stores_nothing(client, account, on_commit):
    response = post(client, account, sandbox_message(message_id="m1"), on_commit, sign=False)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_an_unknown_webhook_url_is_404(client):
    response = client.post("/webhooks/nope/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_signed_body_that_cannot_be_parsed_is_kept_as_a_failed_event(client, account, on_commit):
    response = post(client, account, b"{not json", on_commit)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == "failed"
    assert "parse" in event.error
    assert bytes(event.body) == b"{not json"


def test_a_failed_event_can_be_reprocessed(client, account, on_commit):
    from apps.providers.services import webhook_event_reprocess

    post(client, account, sandbox_message(message_id="m1"), on_commit)
    event = WebhookEvent.objects.get()
    Message.objects.all().delete()
    with on_commit():
        webhook_event_reprocess(event_ids=[event.pk])
    assert Message.objects.count() == 1


def test_the_window_runs_24_hours_from_the_customers_latest_message_by_provider_time(client, account, on_commit):
    late = "2026-11-20T10:00:00+00:00"
    early = "2026-11-20T09:00:00+00:00"
    post(client, account, sandbox_message(message_id="m2", when=late), on_commit)
    post(client, account, sandbox_message(message_id="m1", when=early), on_commit)  # delivered late by a retry
    interaction = Interaction.objects.get()
    assert interaction.window_expires_at == datetime(2026, 11, 21, 10, tzinfo=dt_timezone.utc)
    assert interaction.last_message_at == datetime(2026, 11, 20, 10, tzinfo=dt_timezone.utc)
    times = list(interaction.messages.values_list("provider_message_id", flat=True))
    assert times == ["m1", "m2"]  # the timeline follows the provider's clock


def _sent_message(account, pmid="out-1"):
    interaction = InteractionFactory(account=account, status="open")
    return MessageFactory(interaction=interaction, direction="out", provider_message_id=pmid, status="sent")


@pytest.mark.parametrize(
    "order, final",
    [
        (["delivered", "read"], "read"),
        (["read", "delivered"], "read"),
        (["read", "sent", "delivered"], "read"),
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),
    ],
)
def test_statuses_arriving_out_of_order_still_end_right(client, account, on_commit, order, final):
    message = _sent_message(account)
    for status in order:
        post(client, account, sandbox_status(message_id="out-1", status=status), on_commit)
    message.refresh_from_db()
    assert message.status == final


def test_a_failure_keeps_its_code_and_reason(client, account, on_commit):
    message = _sent_message(account)
    error = {"code": "131026", "message": "Message undeliverable"}
    post(client, account, sandbox_status(message_id="out-1", status="failed", error=error), on_commit)
    post(client, account, sandbox_status(message_id="out-1", status="delivered"), on_commit)
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error_message) == ("failed", "131026", "Message undeliverable")


def test_a_window_error_closes_the_window_of_the_interaction(client, account, on_commit):
    message = _sent_message(account)
    error = {"code": "window_closed", "message": "Outside the window"}
    post(client, account, sandbox_status(message_id="out-1", status="failed", error=error), on_commit)
    message.refresh_from_db()
    assert message.window_closed_error
    assert not message.interaction.window_open()


def test_a_status_for_an_unknown_message_is_retried_then_ignored(client, account, on_commit, settings):
    from apps.providers import services

    post(client, account, sandbox_status(message_id="ghost", status="read"), on_commit)
    event = WebhookEvent.objects.get()
    assert event.status in ("pending", "ignored")
    WebhookEvent.objects.update(received_at=event.received_at - services.UNKNOWN_MESSAGE_GRACE - timedelta(seconds=1))
    with on_commit():
        services.webhook_event_process(event_id=event.pk)
    assert WebhookEvent.objects.get().status == "ignored"
