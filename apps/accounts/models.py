from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from apps.providers.base import AccountConfig
from apps.providers.registry import get_backend


def new_webhook_token() -> str:
    return secrets.token_urlsafe(24)


class WhatsAppAccount(models.Model):
    class Provider(models.TextChoices):
        META = "meta", "Meta Cloud API"
        TWILIO = "twilio", "Twilio"
        SINCH = "sinch", "Sinch Conversation API"
        KALEYRA = "kaleyra", "Kaleyra"
        SANDBOX = "sandbox", "Sandbox"

    name = models.CharField(max_length=120)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    phone_number = models.CharField(max_length=32, help_text="The business number, normalised to E.164.")
    credentials = models.JSONField(default=dict, blank=True)
    api_base_url = models.URLField(
        blank=True, help_text="Leave empty for the provider's public API. Tests point it at a local fake provider."
    )
    queue = models.ForeignKey("queues.Queue", on_delete=models.PROTECT, related_name="accounts")
    recontact_template = models.ForeignKey(
        "wa_templates.Template", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    create_contacts = models.BooleanField(
        default=True, help_text="Create a contact for every unknown customer number (the contact-creation trigger)."
    )
    contact_list = models.ForeignKey(
        "contacts.ContactList", null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "WhatsApp account"

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_number})"

    @property
    def webhook_path(self) -> str:
        return reverse("webhook", kwargs={"token": self.webhook_token})

    @property
    def webhook_url(self) -> str:
        return settings.PUBLIC_BASE_URL + self.webhook_path

    def config(self) -> AccountConfig:
        return AccountConfig(
            id=self.pk,
            provider=self.provider,
            phone_number=self.phone_number,
            credentials=dict(self.credentials or {}),
            api_base_url=self.api_base_url,
            webhook_url=self.webhook_url,
        )

    def backend(self, **kwargs):
        return get_backend(self.config(), **kwargs)
