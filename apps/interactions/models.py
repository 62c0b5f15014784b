from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.providers.types import DeliveryStatus, MessageKind

# WhatsApp refuses a text body longer than this (Meta Cloud API: "text.body ... maximum 4096
# characters"); the API refuses it first with 400 ``text_too_long`` and the desktop counts down to it.
TEXT_MAX_LENGTH = 4096

STATUS_RANK = {"received": 0, "queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def attachment_path(instance: Message, filename: str) -> str:
    day = timezone.now().strftime("%Y/%m/%d")
    return f"attachments/{day}/{uuid.uuid4().hex}/{filename}"


class Interaction(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Origin(models.TextChoices):
        INBOUND = "inbound", "Customer wrote"
        CAMPAIGN = "campaign", "Campaign"
        AGENT = "agent", "Agent started"

    class Direction(models.TextChoices):
        IN = "in", "In"
        OUT = "out", "Out"

    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.PROTECT, related_name="interactions")
    queue = models.ForeignKey("queues.Queue", on_delete=models.PROTECT, related_name="interactions")
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="interactions"
    )
    # The customer: E.164 phone where known, else Meta's business-scoped user id. ``customer_key``
    # is whichever identifies them, and carries the one-open-interaction constraint.
    customer_phone = models.CharField(max_length=32, blank=True, db_index=True)
    customer_user_id = models.CharField(max_length=128, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    customer_key = models.CharField(max_length=140, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING, db_index=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.INBOUND)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_interactions"
    )
    first_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disposition = models.ForeignKey("queues.Disposition", null=True, blank=True, on_delete=models.SET_NULL)
    window_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # True once window.expired was announced for the current window_expires_at; reset when it moves.
    window_expiry_announced = models.BooleanField(default=False)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_message_direction = models.CharField(max_length=3, choices=Direction.choices, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    tags = models.ManyToManyField("contacts.Tag", blank=True, related_name="interactions")

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "customer_key"],
                condition=~Q(status="closed"),
                name="one_open_interaction_per_customer",
            )
        ]
        # D10: the list's filters each start from one of these and read a page newest first
        # (bench/list_queries.py measures them); the last serves a row's count of later
        # interactions of the same customer.
        indexes = [
            models.Index(fields=["queue", "-started_at"], name="interaction_queue_started"),
            models.Index(fields=["account", "-started_at"], name="interaction_account_started"),
            models.Index(fields=["first_agent", "-started_at"], name="interaction_agent_started"),
            models.Index(fields=["status", "-started_at"], name="interaction_status_started"),
            models.Index(fields=["owner", "status"], name="interaction_owner_status"),
            models.Index(fields=["account", "customer_key", "started_at"], name="interaction_customer_started"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer_phone or self.customer_user_id}"

    @staticmethod
    def key_for(phone: str, user_id: str) -> str:
        """``customer_key`` of a customer: the phone where known, else Meta's business-scoped user id."""
        return phone or f"bsuid:{user_id}"

    def save(self, *args, **kwargs):
        self.customer_key = self.key_for(self.customer_phone, self.customer_user_id)
        super().save(*args, **kwargs)

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    def window_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.window_expires_at is not None and self.window_expires_at > now


class InteractionOffer(models.Model):
    """An offer of a waiting interaction to one agent (D2). Its deadline is a column (STYLE: Time)."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        TAKEN = "taken", "Taken by another agent"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction", "agent"], condition=Q(status="offered"), name="one_live_offer_per_agent"
            )
        ]


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "In"
        OUT = "out", "Out"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        QUEUED = DeliveryStatus.QUEUED.value, "Queued"
        SENT = DeliveryStatus.SENT.value, "Sent"
        DELIVERED = DeliveryStatus.DELIVERED.value, "Delivered"
        READ = DeliveryStatus.READ.value, "Read"
        FAILED = DeliveryStatus.FAILED.value, "Failed"

    class MediaState(models.TextChoices):
        NONE = "none", "No media"
        PENDING = "pending", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Download failed"

    # Members named after MessageKind, each (value, label): the stored value is "text", the label "Text".
    Kind = models.TextChoices("Kind", [(k.name, (k.value, k.value.capitalize())) for k in MessageKind])

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey("accounts.WhatsAppAccount", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default="text")
    text = models.TextField(blank=True)
    attachment = models.FileField(upload_to=attachment_path, blank=True, max_length=300)
    attachment_content_type = models.CharField(max_length=120, blank=True)
    attachment_size = models.PositiveBigIntegerField(null=True, blank=True)
    attachment_filename = models.CharField(max_length=255, blank=True)
    media_ref = models.JSONField(default=dict, blank=True, help_text="Where the provider keeps the inbound media.")
    media_state = models.CharField(max_length=8, choices=MediaState.choices, default=MediaState.NONE)
    media_attempts = models.PositiveSmallIntegerField(default=0)
    location = models.JSONField(null=True, blank=True)
    template = models.ForeignKey("wa_templates.Template", null=True, blank=True, on_delete=models.SET_NULL)
    template_params = models.JSONField(default=list, blank=True)
    provider_message_id = models.CharField(max_length=160, blank=True, db_index=True)
    reply_to = models.CharField(max_length=160, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    window_closed_error = models.BooleanField(default=False)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="When the owner read this inbound message.")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raw_type = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="provider_message_stored_once",
            )
        ]
        indexes = [models.Index(fields=["interaction", "created_at"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} #{self.pk}"


class Note(models.Model):
    """An internal note (D4) or a supervisor's note for the agent (S2): never sent to the customer."""

    class Kind(models.TextChoices):
        AGENT = "agent", "Agent note"
        SUPERVISOR = "supervisor", "Supervisor note"

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.AGENT)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class InteractionEvent(models.Model):
    """The interaction's history: who was offered it, who took it, transfers, closing."""

    interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
