from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import WhatsAppAccount
from apps.accounts.services import mask_credentials


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "The provider's credentials (CONTRACT.md). Secrets are write-only: they come back "
        "masked, and a secret sent empty or left out keeps its stored value.",
    }
)
class CredentialsField(serializers.JSONField):
    """Masked on the way out by ``AccountSerializer.to_representation``."""


class AccountSerializer(serializers.ModelSerializer):
    """A WhatsApp account (B1). Validation lives in ``apps.accounts.services``."""

    credentials = CredentialsField(required=False, default=dict)
    webhook_url = serializers.CharField(read_only=True)

    class Meta:
        model = WhatsAppAccount
        fields = [
            "id",
            "name",
            "provider",
            "phone_number",
            "credentials",
            "api_base_url",
            "queue",
            "webhook_url",
            "recontact_template",
            "create_contacts",
            "contact_list",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        # The services normalise the number; the model's max_length would reject "+1 (555) 000-1111 ".
        extra_kwargs = {"phone_number": {"max_length": 64}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["credentials"] = mask_credentials(instance.provider, instance.credentials or {})
        return data
