from __future__ import annotations

import re

from django.db import models

PARAM_RE = re.compile(r"\{\{\s*(\d+)\s*\}\}")


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
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    rejection_reason = models.CharField(max_length=255, blank=True)
    available_for_agents = models.BooleanField(default=False)
    provider_template_id = models.CharField(
        max_length=128, blank=True, help_text="Meta template id, Twilio ContentSid (HX…) or Sinch template id."
    )
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
        found = [int(n) for n in PARAM_RE.findall(self.body)]
        return max(found, default=0)

    def render(self, params: list[str] | None = None) -> str:
        params = params or []

        def substitute(match: re.Match) -> str:
            index = int(match.group(1)) - 1
            return params[index] if 0 <= index < len(params) else match.group(0)

        return PARAM_RE.sub(substitute, self.body)
