"""D11: the contact of an inbound customer, found in the entry point's lists or created there."""
from __future__ import annotations




from .. import selectors
from ..models import Contact, ContactList
from .common import _audit, _publish


def contact_find_or_create_for_customer(
    *,
    phone: str,
    user_id: str,
    name: str,
    contact_lists: list[ContactList],
    create_in: ContactList | None,
) -> Contact | None:
    """The customer's contact in the entry point's lists, or a new one in ``create_in`` (the trigger).

    Unknown means no contact of ``contact_lists`` has this phone or WhatsApp user id; a contact of an
    unrelated list is never linked silently. Runs inside the inbound transaction.
    """
    list_ids = [cl.pk for cl in contact_lists if cl is not None]
    contact = selectors.contacts_for_entry_point(list_ids=list_ids, phone=phone, user_id=user_id).first()
    if contact is not None:
        changed = []
        if user_id and not contact.whatsapp_user_id:
            contact.whatsapp_user_id = user_id
            changed.append("whatsapp_user_id")
        if phone and not contact.phone:
            contact.phone = phone
            changed.append("phone")
        if changed:
            contact.save(update_fields=[*changed, "updated_at"])
        return contact
    if create_in is None or not (phone or user_id):
        return None
    first, _, last = (name or "").strip().partition(" ")
    contact = Contact.objects.create(
        contact_list=create_in,
        first_name=first[:120],
        last_name=last.strip()[:120],
        phone=phone,
        whatsapp_user_id=user_id,
        created_automatically=True,
    )
    _audit(contact, "created_automatically", None)
    _publish("created", contact, list_id=create_in.pk)
    return contact
