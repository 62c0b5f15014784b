"""Serializers of the installation-wide API endpoints: token auth and settings (B5)."""
from __future__ import annotations

from rest_framework import serializers

from .models import InstallationSettings


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
    class Meta:
        model = InstallationSettings
        fields = [
            "license_plan",
            "transfers",
            "transfer_timeout",
            "attachments_enabled",
            "attachment_max_bytes",
            "masking",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
