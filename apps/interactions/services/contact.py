"""An interaction's contact and tags (D9, D11): set from the chat's contact card."""
from __future__ import annotations

from django.db import transaction

from apps.contacts.models import Contact, Tag
from apps.contacts.selectors import can_view_list, sees_every_list
from apps.core.exceptions import Conflict, Invalid, NotAllowed, ServiceError
from apps.users.models import User

from .. import events
from ..models import Interaction
from .common import get_visible, history_record, publish_for

_UNSET = object()


def interaction_set_contact_and_tags(
    *, interaction_id: int, user: User, tag_ids: list[int] | None = None, contact_id: int | None | object = _UNSET
) -> Interaction:
    """Set an interaction's tags and/or link it to a contact, by its owner or a supervisor.

    The contact must belong to a list the caller may view (403 ``no_list_permission``)."""
    with transaction.atomic(durable=True):
        visible = get_visible(interaction_id, user)
        interaction = Interaction.objects.select_for_update(of=("self",)).get(pk=visible.pk)
        if interaction.owner_id != user.pk and not sees_every_list(user):
            raise Conflict("not_owner", "Only the agent who owns this interaction or a supervisor can do that.")
        changed: dict = {}
        if tag_ids is not None:
            ids = list(dict.fromkeys(tag_ids))
            tags = list(Tag.objects.filter(pk__in=ids))
            if len(tags) != len(ids):
                raise Invalid("unknown_tag", "One of the tags does not exist.")
            interaction.tags.set(tags)
            changed["tags"] = ids
        if contact_id is not _UNSET:
            if contact_id is None:
                interaction.contact = None
            else:
                contact = Contact.objects.filter(pk=contact_id).first()
                if contact is None:
                    raise ServiceError("not_found", "No such contact.", status=404)
                if not can_view_list(user, contact.contact_list_id):
                    raise NotAllowed("no_list_permission", "You may not see the contacts of this list.")
                interaction.contact = contact
            interaction.save(update_fields=["contact"])
            changed["contact"] = contact_id
        if changed:
            history_record(interaction, "contact_set" if "contact" in changed else "tagged", user, **changed)
            publish_for(interaction, events.interaction_updated(interaction))
        return interaction
