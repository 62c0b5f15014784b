from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Transfer(models.Model):
    """A request to hand an open interaction to an agent or a queue (D6), with a stored deadline."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    interaction = models.ForeignKey("interactions.Interaction", on_delete=models.CASCADE, related_name="transfers")
    from_agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to_queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Agents the transfer was offered to (the target, or the queue's online agents) and who declined.
    offered_to = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    declined_by = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["interaction"], condition=Q(status="pending"), name="one_pending_transfer_per_interaction"
            ),
            models.CheckConstraint(
                condition=(Q(to_agent__isnull=False, to_queue__isnull=True) | Q(to_agent__isnull=True, to_queue__isnull=False)),
                name="transfer_has_one_target",
            ),
        ]
