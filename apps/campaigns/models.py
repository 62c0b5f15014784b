from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Campaign(models.Model):
    """An outbound campaign (B4): one approved template sent to a contact list at a set rate."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200)
    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.PROTECT, related_name="campaigns")
    template = models.ForeignKey("wa_templates.Template", on_delete=models.PROTECT, related_name="campaigns")
    contact_list = models.ForeignKey("contacts.ContactList", on_delete=models.PROTECT, related_name="campaigns")
    params = models.JSONField(
        default=list,
        blank=True,
        help_text='One entry per {{n}}: {"field": "first_name"}, {"field": "custom.<key>"} or {"value": "text"}.',
    )
    scheduled_at = models.DateTimeField(null=True, blank=True, help_text="Empty: starts at launch.")
    rate_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per second; empty: the provider's documented limit (80 for Meta)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Recipients are built from the list in batches by durable work; this says how far it got, so a
    # killed worker resumes after the last contact it stored instead of starting again.
    prepared = models.BooleanField(default=False)
    prepared_up_to = models.BigIntegerField(default=0)
    # A 429 / 130429 slows the campaign: the rate is multiplied by this factor, which recovers with time.
    throttle = models.FloatField(default=1.0)
    throttled_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey("users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class CampaignRecipient(models.Model):
    """One contact of a campaign: sent at most once (the status guard and the send marker say so)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone = models.CharField(max_length=32, blank=True)
    params = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # Set before the provider is called: a row with it but no provider id was interrupted mid-send,
    # and is never sent again (no provider takes an idempotency key, so a resend could duplicate).
    send_started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=160, blank=True)
    message = models.ForeignKey(
        "interactions.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    interaction = models.ForeignKey(
        "interactions.Interaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One live recipient per number: duplicates in the list are stored as skipped.
            models.UniqueConstraint(
                fields=["campaign", "phone"], condition=~Q(status="skipped"), name="campaign_recipient_once_per_phone"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"]),
            models.Index(fields=["provider_message_id"]),
            models.Index(fields=["phone", "status"]),
        ]


class TokenBucket(models.Model):
    """The database token bucket (no Redis): one row per campaign, shared by every worker."""

    key = models.CharField(max_length=100, unique=True)
    tokens = models.FloatField(default=0)
    updated = models.FloatField(default=0, help_text="Unix time of the last refill.")
