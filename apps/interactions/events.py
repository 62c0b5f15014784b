"""Realtime event payloads for interactions: plain JSON dicts, objects shaped as in the REST API."""
from __future__ import annotations

from typing import Any

from apps.core.masking import NONE, event_representation, masked_event

from . import selectors
from .api.serializers import InteractionSerializer, MessageSerializer, NoteSerializer


def interaction_data(interaction, *, masking: str = NONE) -> dict[str, Any]:
    return event_representation(InteractionSerializer, interaction, masking)


def _mask_interaction(data: dict, level: str) -> dict:
    """An event's data with its ``interaction`` object masked as the serializer declares (B5)."""
    return {**data, "interaction": InteractionSerializer.mask_data(data["interaction"], level)}


def _message(message) -> dict[str, Any]:
    return event_representation(MessageSerializer, message)


def _note(note) -> dict[str, Any]:
    return event_representation(NoteSerializer, note)


def interaction_offered(interaction, offer, *, serialized: dict | None = None, preview: str | None = None) -> dict:
    return masked_event(
        "interaction.offered",
        {
            "interaction": serialized if serialized is not None else interaction_data(interaction),
            "offer_id": offer.pk,
            "expires_at": offer.expires_at.isoformat(),
            "preview": preview if preview is not None else selectors.offer_preview(interaction),
        },
        _mask_interaction,
    )


def interaction_taken(interaction, by_user) -> dict:
    return {
        "type": "interaction.taken",
        "data": {
            "interaction_id": interaction.pk,
            "by": by_user.pk if by_user else None,
            "by_name": by_user.display_name if by_user else "",
        },
    }


def offer_withdrawn(interaction, reason: str) -> dict:
    return {"type": "interaction.offer_withdrawn", "data": {"interaction_id": interaction.pk, "reason": reason}}


def interaction_assigned(interaction) -> dict:
    return masked_event("interaction.assigned", {"interaction": interaction_data(interaction)}, _mask_interaction)


def interaction_updated(interaction) -> dict:
    return masked_event("interaction.updated", {"interaction": interaction_data(interaction)}, _mask_interaction)


def interaction_closed(interaction) -> dict:
    return masked_event(
        "interaction.closed",
        {
            "interaction_id": interaction.pk,
            "interaction": interaction_data(interaction),
            "closed_by": interaction.closed_by_id,
            "closed_by_name": interaction.closed_by.display_name if interaction.closed_by_id else "",
        },
        _mask_interaction,
    )


def message_created(message) -> dict:
    return {
        "type": "message.created",
        "data": {"interaction_id": message.interaction_id, "message": _message(message)},
    }


def message_updated(message) -> dict:
    return {
        "type": "message.updated",
        "data": {"interaction_id": message.interaction_id, "message": _message(message)},
    }


def message_status(message) -> dict:
    return {
        "type": "message.status",
        "data": {
            "interaction_id": message.interaction_id,
            "message_id": message.pk,
            "status": message.status,
            "error_code": message.error_code,
            "error_message": message.error_message,
        },
    }


def note_created(note) -> dict:
    return {"type": "note.created", "data": {"interaction_id": note.interaction_id, "note": _note(note)}}


def window_expired(interaction, *, recontact_available: bool) -> dict:
    return {
        "type": "window.expired",
        "data": {
            "interaction_id": interaction.pk,
            "window_expires_at": interaction.window_expires_at.isoformat() if interaction.window_expires_at else None,
            "recontact_available": recontact_available,
        },
    }


def queue_stats(queue_id: int, stats: dict) -> dict:
    return {"type": "queue.stats", "data": {"queue_id": queue_id, **stats}}
