"""Reads of contacts with the list permissions of B6 and the masked search of B5.

Supervisors and admins see and edit every list. An agent sees a list when a permission row names
them or one of their groups, and edits it when such a row says ``can_edit``.
"""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.core.masking import NONE, masking_level_for, visible_phone_suffix
from apps.core.phones import normalize_phone, written_like_a_phone

from .models import Contact, ContactList, ContactListPermission


def sees_every_list(user) -> bool:
    return bool(user and (user.is_superuser or getattr(user, "role", None) in ("supervisor", "admin")))


def _permission_rows(user) -> QuerySet[ContactListPermission]:
    return ContactListPermission.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))


def list_ids_viewable_by(user) -> QuerySet:
    """The ids of the lists ``user`` may view, as a subquery."""
    if user is None or not user.is_authenticated:
        return ContactListPermission.objects.none().values("contact_list_id")
    if sees_every_list(user):
        return ContactList.objects.values("pk")
    return _permission_rows(user).values("contact_list_id")


def list_ids_editable_by(user) -> QuerySet:
    if user is None or not user.is_authenticated:
        return ContactListPermission.objects.none().values("contact_list_id")
    if sees_every_list(user):
        return ContactList.objects.values("pk")
    return _permission_rows(user).filter(can_edit=True).values("contact_list_id")


def contact_list_list_for(user) -> QuerySet[ContactList]:
    """The lists ``user`` may view, each annotated with ``user_can_edit``."""
    lists = ContactList.objects.filter(pk__in=list_ids_viewable_by(user)).prefetch_related("custom_fields")
    if user is not None and user.is_authenticated and sees_every_list(user):
        return lists.annotate(user_can_edit=Q(pk__isnull=False))
    return lists.annotate(
        user_can_edit=Exists(list_ids_editable_by(user).filter(contact_list_id=OuterRef("pk")))
    )


def can_view_list(user, list_id: int | None) -> bool:
    return list_id is not None and list_ids_viewable_by(user).filter(**_pk_lookup(user, list_id)).exists()


def can_edit_list(user, list_id: int | None) -> bool:
    return list_id is not None and list_ids_editable_by(user).filter(**_pk_lookup(user, list_id)).exists()


def _pk_lookup(user, list_id: int) -> dict:
    return {"pk": list_id} if user is not None and user.is_authenticated and sees_every_list(user) else {"contact_list_id": list_id}


def contact_list_for(user) -> QuerySet[Contact]:
    """The contacts of the lists ``user`` may view."""
    return (
        Contact.objects.filter(contact_list__in=list_ids_viewable_by(user))
        .select_related("contact_list")
        .prefetch_related("tags")
    )


def contact_search(queryset: QuerySet[Contact], *, user, query: str) -> QuerySet[Contact]:
    """Search across name, phone and email (and company): for a masked agent only across what the
    mask shows (see ``apps.core.masking``), so a match count never confirms a hidden value."""
    query = (query or "").strip()
    if not query:
        return queryset
    level = masking_level_for(user)
    condition = Q(company__icontains=query)
    if level == NONE:
        condition |= (
            Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
            | Q(phone__icontains=query)
        )
        parts = query.split()
        if len(parts) > 1:  # "Carla Rossi" finds first name Carla and last name Rossi
            condition |= Q(first_name__icontains=parts[0], last_name__icontains=" ".join(parts[1:]))
        # A search's digits count against phones only when it is typed as a number: a name or a word
        # with a digit in it ("Yuki3a", "Room 12B") matched every phone that contained its digits.
        digits = visible_phone_suffix(query, NONE) if written_like_a_phone(query) else None
        if digits and digits != query:
            condition |= Q(phone__contains=digits)
    else:
        suffix = visible_phone_suffix(query, level) if written_like_a_phone(query) else None
        if suffix:
            condition |= Q(phone__endswith=suffix)
    return queryset.filter(condition)


def contact_phone_filter(queryset: QuerySet[Contact], *, user, phone: str) -> QuerySet[Contact]:
    """``?phone=``: the exact E.164 number, or for a masked agent only the digits the mask shows."""
    level = masking_level_for(user)
    if level != NONE:
        suffix = visible_phone_suffix(phone, level)
        return queryset.filter(phone__endswith=suffix) if suffix else queryset.none()
    raw = (phone or "").strip()
    if raw and raw[0].isdigit():  # an unencoded "+" in a query string arrives as a space
        raw = "+" + raw
    try:
        raw = normalize_phone(raw)
    except ValueError:
        pass
    return queryset.filter(phone=raw)


def contacts_for_entry_point(*, list_ids: list[int], phone: str, user_id: str = "", email: str = "") -> QuerySet[Contact]:
    """D11: the contacts of an entry point's lists that are this customer (oldest first)."""
    query = Q()
    if phone:
        query |= Q(phone=phone)
    if user_id:
        query |= Q(whatsapp_user_id=user_id)
    if email:
        query |= Q(email__iexact=email)
    if not query or not list_ids:
        return Contact.objects.none()
    return Contact.objects.filter(query, contact_list_id__in=list_ids).order_by("id")
