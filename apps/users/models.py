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

    class Meta:
        ordering = ["username"]

    @property
    def is_supervisor_or_admin(self) -> bool:
        return self.role in (self.Role.SUPERVISOR, self.Role.ADMIN) or self.is_superuser

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # Admins manage the back office, so they need the Django Admin.
        if self.role == self.Role.ADMIN:
            self.is_staff = True
        super().save(*args, **kwargs)
