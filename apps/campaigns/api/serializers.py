from __future__ import annotations

from rest_framework import serializers

from apps.campaigns.models import Campaign, CampaignRecipient
from apps.campaigns.selectors import campaign_counters, prefetch_counters, rate_of

COUNTERS = ("total", "pending", "sent", "delivered", "read", "failed", "replied", "skipped")


class CampaignListSerializer(serializers.ListSerializer):
    """A page of campaigns reads every funnel in one grouped query instead of one per campaign."""

    def to_representation(self, data):
        iterable = data.all() if hasattr(data, "all") else data
        return super().to_representation(prefetch_counters(iterable))


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign (B4, CONTRACT.md ``campaigns/``) with its funnel counters."""

    total = serializers.SerializerMethodField()
    pending = serializers.SerializerMethodField()
    sent = serializers.SerializerMethodField()
    delivered = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()
    failed = serializers.SerializerMethodField()
    replied = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField()
    rate_per_second = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "account", "template", "contact_list", "params", "scheduled_at", "rate_per_second",
            "status", *COUNTERS, "created_at", "started_at", "finished_at",
        ]
        read_only_fields = ["status", "created_at", "started_at", "finished_at"]
        list_serializer_class = CampaignListSerializer

    def _counters(self, obj: Campaign) -> dict[str, int]:
        return campaign_counters(obj)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("rate_per_second") is None and instance.account_id:
            # The provider's documented limit applies when none is set (CONTRACT.md).
            data["rate_per_second"] = int(rate_of(instance))
        return data

    def validate_params(self, value):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise serializers.ValidationError('One entry per {{n}}: {"field": "first_name"} or {"value": "text"}.')
        return value

    def get_total(self, obj) -> int:
        return self._counters(obj)["total"]

    def get_pending(self, obj) -> int:
        return self._counters(obj)["pending"]

    def get_sent(self, obj) -> int:
        return self._counters(obj)["sent"]

    def get_delivered(self, obj) -> int:
        return self._counters(obj)["delivered"]

    def get_read(self, obj) -> int:
        return self._counters(obj)["read"]

    def get_failed(self, obj) -> int:
        return self._counters(obj)["failed"]

    def get_replied(self, obj) -> int:
        return self._counters(obj)["replied"]

    def get_skipped(self, obj) -> int:
        return self._counters(obj)["skipped"]


class RecipientSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignRecipient
        fields = [
            "id", "contact", "phone", "status", "error_code", "error_message", "message", "interaction", "updated_at",
            "provider_message_id", "sent_at", "replied_at",
        ]
