"""The transfer object (CONTRACT.md); websocket ``transfer.*`` events reuse it without a request."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.transfers.models import Transfer


class TransferSerializer(serializers.ModelSerializer):
    from_agent_name = serializers.SerializerMethodField()
    to_agent_name = serializers.SerializerMethodField()
    to_queue_name = serializers.SerializerMethodField()
    accepted_by_name = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "interaction",
            "from_agent",
            "to_agent",
            "to_queue",
            "status",
            "created_at",
            "expires_at",
            "accepted_by",
            # extras
            "decided_at",
            "from_agent_name",
            "to_agent_name",
            "to_queue_name",
            "accepted_by_name",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_from_agent_name(self, obj: Transfer) -> str | None:
        return obj.from_agent.display_name if obj.from_agent_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_to_agent_name(self, obj: Transfer) -> str | None:
        return obj.to_agent.display_name if obj.to_agent_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_to_queue_name(self, obj: Transfer) -> str | None:
        return obj.to_queue.name if obj.to_queue_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_accepted_by_name(self, obj: Transfer) -> str | None:
        return obj.accepted_by.display_name if obj.accepted_by_id else None
