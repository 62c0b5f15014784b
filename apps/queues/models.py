from __future__ import annotations

from django.conf import settings
from django.db import models


class Queue(models.Model):
    class Routing(models.TextChoices):
        OFFER_ALL = "offer_all", "Offer to all online agents"

    name = models.CharField(max_length=120, unique=True)
    agents = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="queues", blank=True)
    routing = models.CharField(max_length=16, choices=Routing.choices, default=Routing.OFFER_ALL)
    offer_timeout = models.PositiveIntegerField(
        default=60, help_text="Seconds an offer stays on an agent's screen before it is withdrawn."
    )
    contact_list = models.ForeignKey(
        "contacts.ContactList",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where unknown customers of this queue become contacts (when the account sets none).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Disposition(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="dispositions")
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["queue", "name"], name="disposition_unique_per_queue")]

    def __str__(self) -> str:
        return self.name


class CannedAnswer(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="canned_answers")
    title = models.CharField(max_length=120)
    text = models.TextField()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
