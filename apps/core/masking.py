"""The Security Suite (PRODUCT.md B5): what an agent sees of a customer's phone, email and name.

Masking is applied once, where a payload is built: serializers that carry customer data declare
their customer fields (``MaskedFieldsMixin.masked_fields``) and mask them for the level in their
context (the requesting user's, or an explicit ``context["masking"]``). A realtime event is built
once with the same declaration and carries a ready copy per level (``masked_event``); each desktop
socket only picks the copy for its user's level (``event_for_level``) and never masks by itself.

Searching (the rule the API follows): a masked agent's query is compared only with what the mask
shows, so that the count of matches can never confirm a value the agent could not see.

- phone, ``partial``: only the last 3 digits of the query count, matched as the end of a number
  (``?customer_phone=+15551234567`` finds every visible customer whose number ends in ``567``:
  exactly what the agent sees on screen, so it confirms nothing more);
- phone, ``full``: no digit is shown, so a phone query matches nothing;
- names and emails are not searched at all for a masked agent (``partial`` shows only initials and
  a domain, and matching on those would turn a guess into a yes/no answer one letter at a time);
- everything else (company, tags, custom fields, lists) is searched as usual.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.db.models import Q
from rest_framework.filters import SearchFilter

from .audience import publish_event
from .models import InstallationSettings

MASK = "•"
NONE, PARTIAL, FULL = "none", "partial", "full"
MASKED_LEVELS = (PARTIAL, FULL)
# The key under which an event carries its masked copies; it never leaves the server.
MASKED_KEY = "masked"


def masking_level_for(user: Any) -> str:
    """Agents see customers as the settings say; supervisors and admins always see them whole."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NONE
    if getattr(user, "is_superuser", False) or getattr(user, "role", "agent") in ("supervisor", "admin"):
        return NONE
    return InstallationSettings.load().masking


def level_for_role(user: Any, installation_level: str) -> str:
    """The level ``user`` gets when the installation's level is ``installation_level``."""
    if getattr(user, "is_superuser", False) or getattr(user, "role", "agent") in ("supervisor", "admin"):
        return NONE
    return installation_level


def mask_phone(value: str, level: str) -> str:
    """partial: ``+•••••••••567`` (the last 3 digits, enough to recognise a customer); full: every digit hidden."""
    if not value or level == NONE:
        return value
    digits = sum(ch.isdigit() for ch in value)
    keep = 3 if level == PARTIAL and digits > 3 else 0
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else MASK)
        elif ch == "+":
            out.append(ch)
        else:
            # A Meta business-scoped user id or any other non-number is hidden whole.
            out.append(MASK)
    return "".join(out)


def mask_email(value: str, level: str) -> str:
    """partial: ``j•••@example.com``; full: ``•••@•••``."""
    if not value or level == NONE:
        return value
    if level == FULL:
        return f"{MASK * 3}@{MASK * 3}"
    local, _, domain = value.partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}" if domain else f"{local[:1]}{MASK * 3}"


def mask_name(value: str, level: str) -> str:
    """partial: ``J••• S•••`` (first letter of each word); full: ``•••``."""
    if not value or level == NONE:
        return value
    if level == FULL:
        return MASK * 3
    return " ".join(word[:1] + MASK * 3 for word in value.split())


MASKERS: dict[str, Callable[[str, str], str]] = {"phone": mask_phone, "email": mask_email, "name": mask_name}


def mask_fields(data: dict, fields: dict[str, str], level: str) -> dict:
    """A copy of ``data`` with each of ``fields`` (field -> ``phone``/``email``/``name``) masked."""
    if level == NONE:
        return data
    out = dict(data)
    for field, kind in fields.items():
        if isinstance(out.get(field), str):
            out[field] = MASKERS[kind](out[field], level)
    return out


class MaskedFieldsMixin:
    """For a DRF serializer: ``masked_fields = {"customer_phone": "phone", ...}`` are masked for the
    level of the context's request user (or ``context["masking"]`` when given, as events do)."""

    masked_fields: dict[str, str] = {}

    def masking_level(self) -> str:
        context = self.context  # type: ignore[attr-defined]  # the root's, shared by nested serializers
        if "masking" not in context:
            request = context.get("request")
            context["masking"] = masking_level_for(getattr(request, "user", None)) if request is not None else NONE
        return context["masking"]

    def to_representation(self, instance):
        data = super().to_representation(instance)  # type: ignore[misc]
        return self.mask_data(data, self.masking_level())

    @classmethod
    def mask_data(cls, data: dict, level: str) -> dict:
        return mask_fields(data, cls.masked_fields, level)


# Keys that name customer data in free-form JSON (an interaction's history lines, an audit's data).
_CUSTOMER_KEYS = {
    "customer_phone": "phone",
    "phone": "phone",
    "customer_name": "name",
    "first_name": "name",
    "last_name": "name",
    "email": "email",
}


def mask_payload_keys(value: Any, level: str) -> Any:
    """Free-form JSON with every customer key masked, at any depth (for stored history data, whose
    shape no serializer declares)."""
    if level == NONE:
        return value
    if isinstance(value, dict):
        return {
            key: (
                MASKERS[_CUSTOMER_KEYS[key]](item, level)
                if key in _CUSTOMER_KEYS and isinstance(item, str)
                else mask_payload_keys(item, level)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_payload_keys(item, level) for item in value]
    return value


@lru_cache(maxsize=None)
def _event_serializer(cls, masking: str):
    return cls(context={"request": None, "masking": masking})


def event_representation(serializer_class, instance, masking: str = NONE) -> dict:
    """``instance`` as ``serializer_class`` shapes it for an event (no request; ``masking``'s level).

    One serializer per class and level serves every event. DRF builds a serializer's fields afresh
    for each instance (a deep copy of the declared fields plus one field per model column): in py-spy
    that was over half of an event's cost, paid twice per inbound message (issue 11). An event's
    serializer always has the same context and ``to_representation`` keeps no per-call state, so one
    bound instance serves every thread.
    """
    return dict(_event_serializer(serializer_class, masking).to_representation(instance))


def masked_event(event_type: str, data: dict, mask: Callable[[dict, str], dict]) -> dict:
    """An event built once with a copy of ``data`` per masking level (``mask(data, level)``)."""
    return {"type": event_type, "data": data, MASKED_KEY: {level: mask(data, level) for level in MASKED_LEVELS}}


def event_for_level(event: dict, level: str) -> dict:
    """What one recipient's socket sends: the copy for its level, without the other copies."""
    copies = event.get(MASKED_KEY)
    data = copies[level] if copies and level != NONE else event.get("data")
    return {"type": event["type"], "data": data}


def masking_changed_event(level: str) -> dict:
    """Every desktop learns the new level at once; each socket applies it to its own user."""
    return {"type": "settings.masking", "data": {"masking": level}}


def publish_masking_change(old: str, new: str) -> None:
    """Called wherever settings are saved (API and admin), inside their transaction."""
    if old != new:
        publish_event(masking_changed_event(new))


# ----- searching by what the agent sees (see the module's docstring) -----------------------------
_DIGITS = re.compile(r"\d")


def visible_phone_suffix(query: str, level: str) -> str | None:
    """The part of a phone query a masked agent may match on: the last 3 digits at ``partial``;
    ``None`` when nothing may be matched (``full``, or fewer than 3 digits)."""
    digits = "".join(_DIGITS.findall(query or ""))
    if level == NONE:
        return digits or None
    if level == PARTIAL and len(digits) >= 3:
        return digits[-3:]
    return None


def masked_phone_q(field: str, query: str, level: str) -> Q:
    """A masked agent's phone filter: the number's end against the digits the mask shows, or nothing."""
    suffix = visible_phone_suffix(query, level)
    return Q(**{f"{field}__endswith": suffix}) if suffix else Q(pk__in=[])


class MaskedSearchFilter(SearchFilter):
    """``?search=`` that, for a masked agent, leaves out the view's ``masked_search_fields`` (field
    -> ``phone``/``email``/``name``) and matches phone fields only on the digits the mask shows."""

    def filter_queryset(self, request, queryset, view):
        level = masking_level_for(request.user)
        masked = getattr(view, "masked_search_fields", {})
        if level == NONE or not masked:
            return super().filter_queryset(request, queryset, view)
        terms = " ".join(self.get_search_terms(request))
        if not terms:
            return queryset
        condition = Q(pk__in=[])
        for field in getattr(view, "search_fields", []):
            if field not in masked:
                condition |= Q(**{f"{field}__icontains": terms})
            elif masked[field] == "phone":
                condition |= masked_phone_q(field, terms, level)
        return queryset.filter(condition)
