"""Serializers of the installation-wide API endpoints: token auth and settings (B5)."""
from __future__ import annotations

from rest_framework import serializers

from .exceptions import Invalid
from .models import InstallationSettings
from .phones import known_region


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ErrorSerializer(serializers.Serializer):
    """Every error body: ``code`` names the reason; 400s add ``errors`` per field."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False)


class InstallationSettingsSerializer(serializers.ModelSerializer):
    # Declared rather than generated: the model's length and validator would answer the generic
    # "invalid"; validate_default_region names the reason (``unknown_region``).
    default_region = serializers.CharField(
        allow_blank=True, required=False, help_text=InstallationSettings._meta.get_field("default_region").help_text
    )

    class Meta:
        model = InstallationSettings
        fields = [
            "license_plan",
            "transfers",
            "transfer_timeout",
            "attachments_enabled",
            "attachment_max_bytes",
            "masking",
            "default_region",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]

    def validate_default_region(self, value: str) -> str:
        if not value:
            return ""
        try:
            return known_region(value)
        except ValueError as exc:
            error = Invalid("unknown_region", str(exc))
            error.errors = {"default_region": [str(exc)]}
            raise error from exc
