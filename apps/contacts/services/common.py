"""Shared by the contact use cases: fields, permission checks, validation, events and the audit."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.core.audience import publish_event
from apps.core.exceptions import Invalid, NotAllowed
from apps.core.masking import NONE, mask_email, mask_name, mask_phone, masking_level_for
from apps.core.phones import normalize_phone
from apps.users.models import User

from .. import events, selectors
from ..models import Contact, ContactAudit, ContactList, ContactListPermission, CustomField, Tag


# The contact fields a write may set (besides custom fields and tags).
FIELDS = ("first_name", "last_name", "phone", "email", "company", "notes")


MAX_LENGTHS = {"first_name": 120, "last_name": 120, "company": 120, "phone": 32, "email": 254}


def no_list_permission() -> NotAllowed:
    return NotAllowed("no_list_permission", "You may not change the contacts of this list.")


def _require_edit(user: User | None, list_id: int) -> None:
    if user is not None and not selectors.can_edit_list(user, list_id):
        raise no_list_permission()


def clean_custom_fields(contact_list: ContactList, values: Any) -> dict[str, Any]:
    """Custom field values checked against the list's definitions (text, number, date, choice)."""
    if values in (None, ""):
        return {}
    if not isinstance(values, dict):
        raise Invalid("invalid_custom_fields", "custom_fields must be an object keyed by the list's field keys.")
    fields = {f.key: f for f in contact_list.custom_fields.all()}
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in values.items():
        field = fields.get(key)
        if field is None:
            errors[key] = "Not a field of this list."
            continue
        if value in (None, ""):
            continue
        try:
            cleaned[key] = _clean_value(field, value)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise Invalid("invalid_custom_fields", "; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
    return cleaned


def _clean_value(field: CustomField, value: Any) -> Any:
    if field.kind == CustomField.Kind.NUMBER:
        if isinstance(value, bool):
            raise ValueError("A number is expected.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("A number is expected.") from None
        if not number.is_finite():
            raise ValueError("A number is expected.")
        return int(number) if number == number.to_integral_value() else float(number)
    if field.kind == CustomField.Kind.DATE:
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("A date is expected (YYYY-MM-DD).") from None
    text = str(value).strip()
    if field.kind == CustomField.Kind.CHOICE and text not in [str(c) for c in field.choices or []]:
        raise ValueError(f"One of {', '.join(map(str, field.choices or []))} is expected.")
    if len(text) > 1000:
        raise ValueError("At most 1000 characters.")
    return text


def _clean_fields(data: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name in FIELDS:
        if name not in data:
            continue
        value = data[name]
        value = "" if value is None else str(value).strip()
        if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
            raise Invalid("invalid_field", f"{name}: at most {MAX_LENGTHS[name]} characters.")
        if name == "phone" and value:
            try:
                value = normalize_phone(value)
            except ValueError:
                raise Invalid("invalid_phone", "phone: not a possible E.164 number.") from None
        if name == "email" and value:
            try:
                validate_email(value)
            except ValidationError:
                raise Invalid("invalid_email", "email: not a valid address.") from None
        cleaned[name] = value
    return cleaned


def _tags(tag_ids: Iterable[int] | None) -> list[Tag] | None:
    if tag_ids is None:
        return None
    ids = list(dict.fromkeys(tag_ids))
    tags = list(Tag.objects.filter(pk__in=ids))
    if len(tags) != len(ids):
        raise Invalid("unknown_tag", "One of the tags does not exist.")
    return tags


def _publish(kind: str, contact: Contact | None, *, list_id: int, contact_id: int | None = None) -> None:
    event = events.contact_event(kind, contact, contact_id=contact_id)
    publish_event(event, agent_ids=list(viewer_ids(list_id)))


def viewer_ids(list_id: int) -> set[int]:
    """The agents who may view a list (supervisors and admins get contact events on their own group)."""
    rows = ContactListPermission.objects.filter(contact_list_id=list_id)
    ids = set(rows.filter(user__isnull=False).values_list("user_id", flat=True))
    groups = rows.filter(group__isnull=False).values("group_id")
    ids |= set(User.objects.filter(groups__in=groups).values_list("pk", flat=True))
    return ids


def _audit(contact: Contact | None, kind: str, actor: User | None, **data) -> None:
    ContactAudit.objects.create(contact=contact, kind=kind, actor=actor, data=data)


def _masked_unchanged(contact: Contact, fields: dict[str, Any], user: User | None) -> dict[str, Any]:
    """A masked agent that sends a masked value back (a form saved as shown) keeps the stored one."""
    level = masking_level_for(user)
    if level == NONE:
        return fields
    maskers = {"first_name": mask_name, "last_name": mask_name, "phone": mask_phone, "email": mask_email}
    return {
        name: value
        for name, value in fields.items()
        if not (name in maskers and value and value == maskers[name](getattr(contact, name), level))
    }


# Apps above contacts that hold rows pointing at a contact (campaign recipients...) register here
# from their AppConfig.ready(): ``hook(survivor=..., other=...)`` runs inside the merge, before the
# other contact is deleted, so nothing of theirs is lost to the cascade.
merge_hooks: list = []
