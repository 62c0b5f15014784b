from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class WebhookEvent(models.Model):
    """A provider webhook exactly as received, stored once per provider event before processing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.CASCADE, related_name="webhook_events")
    provider = models.CharField(max_length=16)
    event_key = models.CharField(max_length=128)
    method = models.CharField(max_length=8, default="POST")
    headers = models.JSONField(default=dict)
    query = models.JSONField(default=list)
    body = models.BinaryField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0, help_text="Redeliveries of this event that were ignored.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "event_key"], name="webhook_event_stored_once")]

    def __str__(self) -> str:
        return f"{self.provider} event {self.pk} ({self.status})"

    @property
    def body_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")


class SandboxMessage(models.Model):
    """The Sandbox provider's side of a conversation: what the simulated customer's phone holds."""

    class Direction(models.TextChoices):
        FROM_CUSTOMER = "from_customer", "From the customer"
        TO_CUSTOMER = "to_customer", "To the customer"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"

    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.CASCADE, related_name="+")
    customer_phone = models.CharField(max_length=32, db_index=True)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    message_id = models.CharField(max_length=64, unique=True, default="")
    kind = models.CharField(max_length=12, default="text")
    text = models.TextField(blank=True)
    media = models.FileField(upload_to="sandbox/%Y/%m/%d/", blank=True, max_length=300)
    media_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    media_url = models.URLField(blank=True, max_length=500, help_text="Where the customer's phone fetches an agent's attachment.")
    content_type = models.CharField(max_length=120, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    customer_name = models.CharField(max_length=120, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def save(self, *args, **kwargs):
        if not self.message_id:
            self.message_id = f"sbx-{uuid.uuid4().hex}"
        super().save(*args, **kwargs)
