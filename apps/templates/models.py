from __future__ import annotations

import re

from django.db import models
from django.utils import timezone

PARAM_RE = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def params_in(text: str) -> int:
    """How many ``{{n}}`` parameters a text takes: its highest ``n`` (WhatsApp numbers them from 1)."""
    return max((int(n) for n in PARAM_RE.findall(text or "")), default=0)


def substitute(text: str, params: list[str]) -> str:
    def one(match: re.Match) -> str:
        index = int(match.group(1)) - 1
        return str(params[index]) if 0 <= index < len(params) else match.group(0)

    return PARAM_RE.sub(one, text or "")


CONTACT_FIELDS = ("first_name", "last_name", "full_name", "phone", "email", "company")


def contact_field_value(contact, spec: dict) -> str:
    """One parameter from a contact: ``{"field": "first_name"}``, ``{"field": "custom.<key>"}`` or ``{"value": "…"}``."""
    if not isinstance(spec, dict):
        return ""
    if "value" in spec:
        return "" if spec["value"] is None else str(spec["value"])
    field = str(spec.get("field") or "")
    if contact is None or not field:
        return ""
    if field.startswith("custom."):
        value = (contact.custom_fields or {}).get(field[len("custom."):], "")
    elif field == "full_name":
        value = f"{contact.first_name} {contact.last_name}".strip()
    elif field in CONTACT_FIELDS:
        value = getattr(contact, field, "")
    else:
        value = ""
    return "" if value is None else str(value)


class Template(models.Model):
    """A WhatsApp message template, approved by Meta or Kaleyra (or a Twilio Content resource)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        PAUSED = "paused", "Paused"
        DISABLED = "disabled", "Disabled"

    class Category(models.TextChoices):
        MARKETING = "MARKETING", "Marketing"
        UTILITY = "UTILITY", "Utility"
        AUTHENTICATION = "AUTHENTICATION", "Authentication"

    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16, default="en")
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.UTILITY)
    header = models.CharField(max_length=60, blank=True)
    body = models.TextField(help_text="Text with {{1}}-style parameters.")
    footer = models.CharField(max_length=60, blank=True)
    buttons = models.JSONField(
        default=list, blank=True, help_text='As the provider has them, e.g. [{"type": "QUICK_REPLY", "text": "Yes"}].'
    )
    examples = models.JSONField(
        default=list, blank=True, help_text='One sample value per body parameter, e.g. ["Ana", "#123"] (Meta requires them).'
    )
    contact_params = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'Where each {{n}} comes from when this template is sent to a contact (recontact): '
            '[{"field": "first_name"}, {"field": "custom.<key>"}, {"value": "fixed text"}].'
        ),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.CharField(max_length=255, blank=True)
    available_for_agents = models.BooleanField(default=False)
    provider_template_id = models.CharField(
        max_length=128, blank=True, help_text="Meta template id, Twilio ContentSid (HX…) or Sinch template id."
    )
    synced_at = models.DateTimeField(null=True, blank=True, help_text="When the provider's list last mentioned it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name", "language"], name="template_unique_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def param_count(self) -> int:
        return params_in(self.body)

    @property
    def header_param_count(self) -> int:
        return params_in(self.header)

    def render(self, params: list[str] | None = None) -> str:
        return substitute(self.body, list(params or []))

    def params_for_contact(self, contact, *, fallback_name: str = "") -> list[str]:
        """The body's parameters filled from a contact by ``contact_params`` (the recontact mapping, D7).

        A parameter without a mapping takes the contact's first name, the usual greeting; a name left
        empty falls back to the name the customer gave WhatsApp, so no parameter goes out blank.
        """
        mapping = list(self.contact_params or [])
        values = []
        for n in range(self.param_count):
            spec = mapping[n] if n < len(mapping) else {"field": "first_name"}
            value = contact_field_value(contact, spec)
            if not value.strip() and isinstance(spec, dict) and spec.get("field") in ("first_name", "full_name"):
                value = fallback_name
            values.append(value)
        return values


class TemplateSync(models.Model):
    """When an account's template list was last pulled (the 15-minute sweep reads it)."""

    account = models.OneToOneField("accounts.WhatsAppAccount", on_delete=models.CASCADE, related_name="+")
    synced_at = models.DateTimeField(default=timezone.now)
    error = models.TextField(blank=True)
