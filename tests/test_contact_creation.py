"""D11: an unknown number writing creates a contact in its entry point's list, through the real webhook view."""
from __future__ import annotations

import pytest

from apps.contacts.models import Contact, ContactAudit
from apps.interactions.models import Interaction
from tests.factories import ContactListFactory, QueueFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message

pytestmark = pytest.mark.django_db


def write(client, account, on_commit, message_id: str = "m1", phone: str = "+15551234567", name: str = "Carla Rossi"):
    with on_commit():
        response = post_signed(
            client, account, sandbox_message(message_id=message_id, phone=phone, name=name), content_type="application/json"
        )
    assert response.status_code == 200
    return Interaction.objects.filter(customer_phone=phone).order_by("-id").first()


def test_an_unknown_number_creates_a_contact_in_the_accounts_list_with_its_name(client, on_commit):
    account = WhatsAppAccountFactory(contact_list=ContactListFactory(name="Inbound"), create_contacts=True)
    interaction = write(client, account, on_commit)
    contact = Contact.objects.get()
    assert (contact.contact_list, contact.phone, contact.first_name, contact.last_name) == (account.contact_list, "+15551234567", "Carla", "Rossi")
    assert contact.created_automatically and interaction.contact == contact
    assert ContactAudit.objects.filter(contact=contact, kind="created_automatically").exists()
    # the same customer writing again after closing is not created twice
    Interaction.objects.update(status="closed")
    again = write(client, account, on_commit, message_id="m2")
    assert Contact.objects.count() == 1 and again.contact == contact


def test_the_queues_list_is_the_entry_point_when_the_account_has_none(client, on_commit):
    queue = QueueFactory(name="Sales", contact_list=ContactListFactory(name="Sales leads"))
    account = WhatsAppAccountFactory(queue=queue, contact_list=None, create_contacts=True)
    write(client, account, on_commit)
    assert Contact.objects.get().contact_list == queue.contact_list


def test_a_contact_of_an_unrelated_list_is_not_linked_and_a_new_one_is_created(client, on_commit):
    elsewhere = ContactListFactory(name="Other department")
    stranger = Contact.objects.create(contact_list=elsewhere, first_name="Other", phone="+15551234567")
    account = WhatsAppAccountFactory(contact_list=ContactListFactory(name="Inbound"), create_contacts=True)
    interaction = write(client, account, on_commit)
    assert interaction.contact != stranger
    assert interaction.contact.contact_list == account.contact_list
    assert Contact.objects.filter(phone="+15551234567").count() == 2


def test_with_the_trigger_off_an_unrelated_contact_is_still_not_linked(client, on_commit):
    Contact.objects.create(contact_list=ContactListFactory(name="Other"), first_name="Other", phone="+15551234567")
    account = WhatsAppAccountFactory(contact_list=ContactListFactory(name="Inbound"), create_contacts=False)
    interaction = write(client, account, on_commit)
    assert interaction.contact is None
    assert Contact.objects.count() == 1


def test_a_known_contact_of_the_queues_list_is_linked_not_duplicated(client, on_commit):
    queue = QueueFactory(name="Support", contact_list=ContactListFactory(name="Support customers"))
    known = Contact.objects.create(contact_list=queue.contact_list, first_name="Known", phone="+15551234567")
    account = WhatsAppAccountFactory(queue=queue, contact_list=ContactListFactory(name="Account list"), create_contacts=True)
    interaction = write(client, account, on_commit)
    assert interaction.contact == known
    assert Contact.objects.count() == 1


def test_a_whatsapp_user_id_finds_the_contact(client, on_commit):
    from apps.contacts.services import contact_find_or_create_for_customer

    contact_list = ContactListFactory(name="Inbound")
    known = Contact.objects.create(contact_list=contact_list, first_name="Known", whatsapp_user_id="US.123")
    found = contact_find_or_create_for_customer(
        phone="+15551234567", user_id="US.123", name="", contact_lists=[contact_list], create_in=contact_list
    )
    assert found == known
    known.refresh_from_db()
    assert known.phone == "+15551234567"  # learnt from the message
