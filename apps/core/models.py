from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

DEFAULT_ATTACHMENT_MAX_BYTES = 15 * 1024 * 1024


class InstallationSettings(models.Model):
    """The installation-wide settings of PRODUCT.md B5: a single row, edited in the admin."""

    class LicensePlan(models.TextChoices):
        INBOUND = "inbound", "Inbound only"
        INBOUND_OUTBOUND = "inbound_outbound", "Inbound & outbound"

    class Transfers(models.TextChoices):
        DISABLED = "disabled", "Disabled"
        AGENT = "agent", "To agents only"
        QUEUE = "queue", "To queues only"
        BOTH = "both", "To agents and queues"

    class Masking(models.TextChoices):
        NONE = "none", "None"
        PARTIAL = "partial", "Partial"
        FULL = "full", "Full"

    license_plan = models.CharField(max_length=20, choices=LicensePlan.choices, default=LicensePlan.INBOUND_OUTBOUND)
    transfers = models.CharField(max_length=10, choices=Transfers.choices, default=Transfers.BOTH)
    transfer_timeout = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(5)], help_text="Seconds a transfer waits for the target to accept."
    )
    attachments_enabled = models.BooleanField(default=True)
    attachment_max_bytes = models.PositiveIntegerField(
        default=DEFAULT_ATTACHMENT_MAX_BYTES, validators=[MinValueValidator(1)]
    )
    masking = models.CharField(max_length=10, choices=Masking.choices, default=Masking.NONE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "Settings"

    def __str__(self) -> str:
        return "Settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> InstallationSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def transfers_to_agent_allowed(self) -> bool:
        return self.transfers in (self.Transfers.AGENT, self.Transfers.BOTH)

    def transfers_to_queue_allowed(self) -> bool:
        return self.transfers in (self.Transfers.QUEUE, self.Transfers.BOTH)
