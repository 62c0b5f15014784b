"""Merge two contacts: the survivor takes every related row, audited."""
from __future__ import annotations


from django.db import IntegrityError, transaction

from apps.core.exceptions import Invalid
from apps.users.models import User

from ..models import Contact
from .common import FIELDS, _audit, _publish, _require_edit, merge_hooks
from .edit import _visible_for_update


def contact_merge(*, user: User | None, contact_id: int, other_id: int) -> Contact:
    """Merge ``other`` into ``contact`` (the survivor the user chose): the other's interactions,
    tags, editors and notes move here, its custom fields and empty fields fill the survivor's gaps,
    then the other is deleted. Both lists need edit permission. Audited on the survivor."""
    if contact_id == other_id:
        raise Invalid("same_contact", "A contact cannot be merged with itself.")
    with transaction.atomic(durable=True):
        # Lock both in id order so two opposite merges cannot deadlock.
        for pk in sorted((contact_id, other_id)):
            _visible_for_update(user, pk)
        contact = Contact.objects.get(pk=contact_id)
        other = Contact.objects.get(pk=other_id)
        _require_edit(user, contact.contact_list_id)
        _require_edit(user, other.contact_list_id)
        filled = []
        for name in (*FIELDS[:5], "whatsapp_user_id"):
            if not getattr(contact, name) and getattr(other, name):
                setattr(contact, name, getattr(other, name))
                filled.append(name)
        if other.notes:
            contact.notes = f"{contact.notes}\n\n{other.notes}".strip()
        # Custom fields: the survivor keeps its values; the other's fill the keys it lacks.
        contact.custom_fields = {**(other.custom_fields or {}), **(contact.custom_fields or {})}
        contact.save()
        contact.tags.add(*other.tags.all())
        contact.editors.add(*other.editors.all())
        if user is not None:
            contact.editors.add(user)
        moved = list(other.interactions.values_list("pk", flat=True))
        _move_related_rows(survivor=contact, other=other)
        merge_hooks_run(survivor=contact, other=other)
        _audit(
            contact,
            "merged",
            user,
            other=other.pk,
            other_list=other.contact_list_id,
            interactions=moved,
            filled=filled,
        )
        other_list = other.contact_list_id
        other.delete()
        _publish("deleted", None, list_id=other_list, contact_id=other_id)
        _publish("updated", contact, list_id=contact.contact_list_id)
        return contact


def _move_related_rows(*, survivor: Contact, other: Contact) -> None:
    """Every row of any app that points at ``other`` (interactions, audits, campaign recipients...)
    points at the survivor instead, found through the model's relations so that contacts imports no
    app above it and a new relation cannot be forgotten. A row that would break a unique constraint
    (the survivor already has its twin, e.g. the same campaign's recipient) stays with ``other``."""
    for relation in Contact._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and relation.one_to_many and relation.concrete is False):
            continue
        model, field = relation.related_model, relation.field.name
        rows = model._base_manager.filter(**{field: other})
        try:
            with transaction.atomic():
                rows.update(**{field: survivor})
        except IntegrityError:
            for row in rows:
                try:
                    with transaction.atomic():
                        model._base_manager.filter(pk=row.pk).update(**{field: survivor})
                except IntegrityError:
                    continue


def on_merge(hook) -> None:
    if hook not in merge_hooks:
        merge_hooks.append(hook)


def merge_hooks_run(*, survivor: Contact, other: Contact) -> None:
    for hook in merge_hooks:
        hook(survivor=survivor, other=other)
