"""Writes on contacts."""
from __future__ import annotations

from django.db.models import Q

from .models import Contact, ContactList


def contact_find_for_customer(*, phone: str, user_id: str = "") -> Contact | None:
    """The contact of a customer, by E.164 phone or Meta business-scoped user id (oldest first)."""
    query = Q()
    if phone:
        query |= Q(phone=phone)
    if user_id:
        query |= Q(whatsapp_user_id=user_id)
    if not query:
        return None
    return Contact.objects.filter(query).order_by("id").first()


def contact_find_or_create_for_customer(
    *, phone: str, user_id: str, name: str, contact_list: ContactList | None, create: bool
) -> Contact | None:
    """D11: an unknown number becomes a contact in the entry point's list, if the trigger is on."""
    contact = contact_find_for_customer(phone=phone, user_id=user_id)
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
    if not create or contact_list is None:
        return None
    first, _, last = (name or "").strip().partition(" ")
    return Contact.objects.create(
        contact_list=contact_list,
        first_name=first[:120],
        last_name=last[:120],
        phone=phone,
        whatsapp_user_id=user_id,
        created_automatically=True,
    )
