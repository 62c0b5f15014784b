"""Desktop websocket commands: each calls the same service as its REST action."""
from __future__ import annotations

from apps.interactions import services as interactions
from apps.users.services import user_set_presence


def _accept(user, c):
    return {"interaction_id": interactions.interaction_accept(interaction_id=int(c["interaction_id"]), user=user).pk}


def _reject(user, c):
    return {"interaction_id": interactions.interaction_reject(interaction_id=int(c["interaction_id"]), user=user).pk}


def _read(user, c):
    return {"interaction_id": interactions.interaction_mark_read(interaction_id=int(c["interaction_id"]), user=user).pk}


def _send(user, c):
    message = interactions.message_send(interaction_id=int(c["interaction_id"]), user=user, text=str(c.get("text", "")))
    return {"message_id": message.pk}


def _note(user, c):
    note = interactions.note_create(interaction_id=int(c["interaction_id"]), user=user, text=str(c.get("text", "")))
    return {"note_id": note.pk}


def _close(user, c):
    disposition = c.get("disposition")
    interaction = interactions.interaction_close(
        interaction_id=int(c["interaction_id"]), user=user, disposition_id=int(disposition) if disposition else None
    )
    return {"interaction_id": interaction.pk}


def _presence(user, c):
    return {"presence": user_set_presence(user=user, presence=str(c.get("presence", ""))).presence}


HANDLERS = {
    "accept": _accept,
    "reject": _reject,
    "read": _read,
    "send": _send,
    "note": _note,
    "close": _close,
    "presence": _presence,
}
