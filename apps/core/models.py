from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from .phones import validate_region

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
    default_region = models.CharField(
        max_length=2,
        blank=True,
        default="",
        validators=[validate_region],
        help_text="ISO 3166 alpha-2 region (IT, US, …) of national numbers agents type without a country code. "
        "Blank: the region of the WhatsApp account's own number.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "Settings"

    def __str__(self) -> str:
        return "Settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        self.default_region = (self.default_region or "").strip().upper()
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> InstallationSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def transfers_to_agent_allowed(self) -> bool:
        return self.transfers in (self.Transfers.AGENT, self.Transfers.BOTH)

    def transfers_to_queue_allowed(self) -> bool:
        return self.transfers in (self.Transfers.QUEUE, self.Transfers.BOTH)


class Job(models.Model):
    """One piece of deferred work (apps.core.work): stored with the write that asks for it, claimed and retried."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200, unique=True, help_text="The same work asked twice is one row.")
    args = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="A running job whose runner died is claimed again after this.")
    claim = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [
            # The runner's only query: what is due, oldest first. Failed rows are left out of it.
            models.Index(
                fields=["next_attempt_at"], name="job_pending_due", condition=models.Q(state="pending")
            ),
            models.Index(fields=["locked_until"], name="job_running_lease", condition=models.Q(state="running")),
            models.Index(fields=["claim"], name="job_claim", condition=~models.Q(claim="")),
            models.Index(fields=["state", "kind"], name="job_state_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"
