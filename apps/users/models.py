from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"
        ADMIN = "admin", "Admin"

    class Presence(models.TextChoices):
        ONLINE = "online", "Online"
        PAUSED = "paused", "Paused"
        OFFLINE = "offline", "Offline"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    presence = models.CharField(max_length=16, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(default=timezone.now)
    # X1: at this many open interactions the agent gets no new offers; null means no limit.
    max_open_interactions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open interactions at which the agent gets no new offers (empty: no limit)."
    )
    # S3/D10: null follows the role (supervisors and admins may, agents may not), so a promotion
    # grants it without a second edit; an administrator's explicit choice is stored and wins.
    transcripts_permission = models.BooleanField(
        null=True, blank=True, verbose_name="can download transcripts",
        help_text="Empty: supervisors and admins may, agents may not.",
    )

    class Meta:
        ordering = ["username"]

    @property
    def is_supervisor_or_admin(self) -> bool:
        return self.role in (self.Role.SUPERVISOR, self.Role.ADMIN) or self.is_superuser

    @property
    def can_download_transcripts(self) -> bool:
        if self.transcripts_permission is not None:
            return self.transcripts_permission
        return self.is_supervisor_or_admin

    @can_download_transcripts.setter
    def can_download_transcripts(self, value: bool | None) -> None:
        self.transcripts_permission = value

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # Admins manage the back office, so they need the Django Admin.
        if self.role == self.Role.ADMIN:
            self.is_staff = True
        super().save(*args, **kwargs)
