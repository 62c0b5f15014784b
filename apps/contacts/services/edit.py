"""Add, edit, delete and duplicate contacts; list permissions."""
from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from apps.core.exceptions import Invalid, ServiceError
from apps.users.models import User

from .. import selectors
from ..models import Contact, ContactList, ContactListPermission
from .common import FIELDS, _audit, _clean_fields, _masked_unchanged, _publish, _require_edit, _tags, clean_custom_fields


def contact_create(*, user: User | None, contact_list_id: int, data: dict[str, Any], tag_ids: list[int] | None = None) -> Contact:
    """Add a contact to a list the user may edit (D9)."""
    with transaction.atomic(durable=True):
        contact_list = ContactList.objects.filter(pk=contact_list_id).first()
        if contact_list is None:
            raise Invalid("unknown_list", "No such contact list.")
        _require_edit(user, contact_list_id)
        # Masked values cannot be created from: the API validates a phone before it gets here.
        fields = _clean_fields(data)
        contact = Contact(contact_list=contact_list, **fields)
        contact.custom_fields = clean_custom_fields(contact_list, data.get("custom_fields"))
        contact.save()
        tags = _tags(tag_ids)
        if tags:
            contact.tags.set(tags)
        if user is not None:
            contact.editors.add(user)
        _audit(contact, "created", user)
        _publish("created", contact, list_id=contact_list.pk)
        return contact


def contact_update(*, user: User | None, contact_id: int, data: dict[str, Any], tag_ids: list[int] | None = None) -> Contact:
    """Edit a contact (D9, and D11 from the chat's contact card); the editor's "My contacts" gains it."""
    with transaction.atomic(durable=True):
        contact = _visible_for_update(user, contact_id)
        _require_edit(user, contact.contact_list_id)
        fields = _masked_unchanged(contact, _clean_fields(data), user)
        for name, value in fields.items():
            setattr(contact, name, value)
        if "custom_fields" in data:
            contact.custom_fields = clean_custom_fields(contact.contact_list, data.get("custom_fields"))
        contact.save()
        tags = _tags(tag_ids)
        if tags is not None:
            contact.tags.set(tags)
        if user is not None:
            contact.editors.add(user)
        _audit(contact, "updated", user, fields=sorted(fields))
        _publish("updated", contact, list_id=contact.contact_list_id)
        return contact


def contact_delete(*, user: User | None, contact_id: int) -> None:
    with transaction.atomic(durable=True):
        contact = _visible_for_update(user, contact_id)
        _require_edit(user, contact.contact_list_id)
        list_id = contact.contact_list_id
        _audit(None, "deleted", user, contact_id=contact_id, list=list_id)
        contact.delete()
        _publish("deleted", None, list_id=list_id, contact_id=contact_id)


def _visible_for_update(user: User | None, contact_id: int) -> Contact:
    queryset = Contact.objects.all() if user is None else selectors.contact_list_for(user)
    contact = queryset.select_for_update(of=("self",)).filter(pk=contact_id).first()
    if contact is None:
        raise ServiceError("not_found", "No such contact.", status=404)
    return contact


def contact_duplicate(*, user: User | None, contact_id: int, list_id: int) -> Contact:
    """Copy a contact into another list the user may edit (D9)."""
    with transaction.atomic(durable=True):
        source = (Contact.objects.all() if user is None else selectors.contact_list_for(user)).filter(pk=contact_id).first()
        if source is None:
            raise ServiceError("not_found", "No such contact.", status=404)
        target = ContactList.objects.filter(pk=list_id).first()
        if target is None:
            raise Invalid("unknown_list", "No such contact list.")
        _require_edit(user, list_id)
        keys = set(target.custom_fields.values_list("key", flat=True))
        copy = Contact.objects.create(
            contact_list=target,
            **{name: getattr(source, name) for name in (*FIELDS, "whatsapp_user_id")},
            custom_fields={k: v for k, v in (source.custom_fields or {}).items() if k in keys},
        )
        copy.tags.set(source.tags.all())
        if user is not None:
            copy.editors.add(user)
        _audit(copy, "duplicated", user, source=source.pk)
        _publish("created", copy, list_id=list_id)
        return copy


def contact_list_permissions_set(*, contact_list_id: int, entries: list[dict[str, Any]]) -> list[ContactListPermission]:
    """Replace a list's permissions (admins, B6): ``[{"user": id, "can_edit": bool}, {"group": id, ...}]``."""
    with transaction.atomic(durable=True):
        contact_list = ContactList.objects.select_for_update().filter(pk=contact_list_id).first()
        if contact_list is None:
            raise ServiceError("not_found", "No such contact list.", status=404)
        rows: dict[tuple[str, int], bool] = {}
        for entry in entries:
            user_id, group_id = entry.get("user"), entry.get("group")
            if bool(user_id) == bool(group_id):
                raise Invalid("invalid_permission", "Each entry names either a user or a group.")
            key = ("user", user_id) if user_id else ("group", group_id)
            rows[key] = bool(entry.get("can_edit")) or rows.get(key, False)
        users = {("user", pk) for pk in User.objects.filter(pk__in=[k[1] for k in rows if k[0] == "user"]).values_list("pk", flat=True)}
        groups = {("group", pk) for pk in Group.objects.filter(pk__in=[k[1] for k in rows if k[0] == "group"]).values_list("pk", flat=True)}
        missing = set(rows) - users - groups
        if missing:
            raise Invalid("unknown_user_or_group", f"No such {sorted(missing)[0][0]}: {sorted(missing)[0][1]}.")
        ContactListPermission.objects.filter(contact_list=contact_list).delete()
        created = [
            ContactListPermission.objects.create(
                contact_list=contact_list, can_edit=can_edit, **({"user_id": pk} if kind == "user" else {"group_id": pk})
            )
            for (kind, pk), can_edit in rows.items()
        ]
        return created
