"""The Security Suite (PRODUCT.md B5): what an agent sees of a customer's phone, email and name."""
from __future__ import annotations

from typing import Any

from .models import InstallationSettings

MASK = "•"
NONE, PARTIAL, FULL = "none", "partial", "full"


def masking_level_for(user: Any) -> str:
    """Agents see customers as the settings say; supervisors and admins always see them whole."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NONE
    if getattr(user, "is_superuser", False) or getattr(user, "role", "agent") in ("supervisor", "admin"):
        return NONE
    return InstallationSettings.load().masking


def mask_phone(value: str, level: str) -> str:
    """partial: ``+15•••••••11`` (first 3 characters and last 2 digits); full: every digit hidden."""
    if not value or level == NONE:
        return value
    if level == FULL:
        return "".join(MASK if ch.isdigit() else ch for ch in value)
    if len(value) <= 5:
        return value[:1] + MASK * (len(value) - 1)
    head, middle, tail = value[:3], value[3:-2], value[-2:]
    return head + "".join(MASK if ch.isdigit() else ch for ch in middle) + tail


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


_MASKERS = {"customer_phone": mask_phone, "customer_name": mask_name, "email": mask_email}


def mask_payload(value: Any, level: str) -> Any:
    """Mask customer fields wherever they sit in an event payload (objects travel whole in events,
    serialised once for every recipient, so each recipient's socket masks its own copy)."""
    if level == NONE:
        return value
    if isinstance(value, dict):
        return {
            key: (_MASKERS[key](item, level) if key in _MASKERS and isinstance(item, str) else mask_payload(item, level))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_payload(item, level) for item in value]
    return value
