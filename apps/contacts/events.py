"""Realtime payloads of contacts (D9): the contact object as the REST API shapes it, masked per level."""
from __future__ import annotations

from apps.core.masking import event_representation, masked_event

from .api.serializers import ContactSerializer


def _mask(data: dict, level: str) -> dict:
    contact = data.get("contact")
    return {**data, "contact": ContactSerializer.mask_data(contact, level) if contact else None}


def contact_event(kind: str, contact, *, contact_id: int | None = None) -> dict:
    """``contact.created|updated|deleted`` with ``data.contact_id`` and ``data.contact`` (null once deleted)."""
    data = event_representation(ContactSerializer, contact) if contact else None
    return masked_event(
        f"contact.{kind}",
        {"contact_id": contact.pk if contact else contact_id, "contact": data},
        _mask,
    )
