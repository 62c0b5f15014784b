"""Interaction, message and note objects, exactly as CONTRACT.md shapes them.

The websocket events reuse these (``apps.core.masking.event_representation``, no request), so
nothing here may need a request: absolute URLs fall back to ``settings.PUBLIC_BASE_URL``. Customer
fields are masked here, once (B5, ``apps.core.masking``): for the request's user, or for the level an
event passes as ``context["masking"]``.
"""
from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.masking import MaskedFieldsMixin, mask_payload_keys
from apps.interactions.models import Interaction, InteractionEvent, Message, Note
from apps.interactions.selectors import offer_preview
from apps.providers.types import MessageKind


def absolute_url(path: str, request=None) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def _display_name(user) -> str | None:
    return user.display_name if user is not None else None


class AttachmentSerializer(serializers.Serializer):
    url = serializers.URLField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    filename = serializers.CharField()


@extend_schema_field({"type": "string", "enum": ["in", "out", ""], "description": "`in`, `out`, or empty before any message."})
class DirectionField(serializers.CharField):
    """Documented inline: the same in/out choices as a message's ``direction``, one enum name."""


class InteractionSerializer(MaskedFieldsMixin, serializers.ModelSerializer):
    masked_fields = {"customer_phone": "phone", "customer_name": "name"}

    last_message_direction = DirectionField(read_only=True)
    tags = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    account_name = serializers.SerializerMethodField()
    queue_name = serializers.SerializerMethodField()
    owner_name = serializers.SerializerMethodField()
    first_agent_name = serializers.SerializerMethodField()
    disposition_name = serializers.SerializerMethodField()
    window_open = serializers.SerializerMethodField()
    unmanaged_count = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "account",
            "queue",
            "contact",
            "customer_phone",
            "status",
            "owner",
            "first_agent",
            "started_at",
            "closed_at",
            "disposition",
            "window_expires_at",
            "last_message_at",
            "last_message_direction",
            "unread_count",
            "tags",
            # extras
            "customer_name",
            "origin",
            "account_name",
            "queue_name",
            "owner_name",
            "first_agent_name",
            "disposition_name",
            "accepted_at",
            "window_open",
            "unmanaged_count",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_account_name(self, obj: Interaction) -> str:
        return obj.account.name

    @extend_schema_field(OpenApiTypes.STR)
    def get_queue_name(self, obj: Interaction) -> str:
        return obj.queue.name

    @extend_schema_field({"type": "string", "nullable": True})
    def get_owner_name(self, obj: Interaction) -> str | None:
        return _display_name(obj.owner)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_first_agent_name(self, obj: Interaction) -> str | None:
        return _display_name(obj.first_agent)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_disposition_name(self, obj: Interaction) -> str | None:
        return obj.disposition.name if obj.disposition_id else None

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_window_open(self, obj: Interaction) -> bool:
        return obj.window_open()

    @extend_schema_field(
        {
            "type": "integer",
            "nullable": True,
            "description": "In lists: later interactions of the same customer that no agent has taken yet.",
        }
    )
    def get_unmanaged_count(self, obj: Interaction) -> int | None:
        return getattr(obj, "unmanaged_count", None)


class MessageSerializer(serializers.ModelSerializer):
    # The values the API returns (MessageKind), not the model's choices, whose values are labels.
    kind = serializers.ChoiceField(choices=[(k.value, k.value) for k in MessageKind], read_only=True)
    interaction_id = serializers.IntegerField(read_only=True)
    attachment = serializers.SerializerMethodField()
    sender_name = serializers.SerializerMethodField()
    template_name = serializers.SerializerMethodField()
    closes_window = serializers.BooleanField(
        source="window_closed_error",
        read_only=True,
        help_text="This failure means the customer's 24-hour window has closed (the provider's own code says so).",
    )

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "kind",
            "text",
            "attachment",
            "provider_message_id",
            "status",
            "error_code",
            "error_message",
            "created_at",
            "sender",
            # extras
            "interaction_id",
            "sender_name",
            "location",
            "template",
            "template_name",
            "media_state",
            "status_at",
            "seen_at",
            "closes_window",
        ]
        read_only_fields = fields

    @extend_schema_field(AttachmentSerializer(allow_null=True))
    def get_attachment(self, obj: Message) -> dict | None:
        if not obj.attachment:
            return None
        path = reverse("api:message-attachment", kwargs={"pk": obj.pk})
        return {
            "url": absolute_url(path, self.context.get("request")),
            "content_type": obj.attachment_content_type or "application/octet-stream",
            "size": obj.attachment_size,
            "filename": obj.attachment_filename or obj.attachment.name.rsplit("/", 1)[-1],
        }

    @extend_schema_field({"type": "string", "nullable": True})
    def get_sender_name(self, obj: Message) -> str | None:
        return _display_name(obj.sender)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_template_name(self, obj: Message) -> str | None:
        return obj.template.name if obj.template_id else None


class NoteSerializer(serializers.ModelSerializer):
    interaction_id = serializers.IntegerField(read_only=True)
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "interaction_id", "author", "author_name", "kind", "text", "created_at"]
        read_only_fields = ["id", "interaction_id", "author", "author_name", "kind", "created_at"]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_author_name(self, obj: Note) -> str | None:
        return _display_name(obj.author)


class InteractionEventSerializer(MaskedFieldsMixin, serializers.ModelSerializer):
    interaction_id = serializers.IntegerField(read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = InteractionEvent
        fields = ["id", "interaction_id", "kind", "actor", "actor_name", "data", "created_at"]
        read_only_fields = fields

    @classmethod
    def mask_data(cls, data: dict, level: str) -> dict:
        # A history line's free-form data may name the customer (``created`` records the number).
        return {**data, "data": mask_payload_keys(data.get("data"), level)}

    @extend_schema_field({"type": "string", "nullable": True})
    def get_actor_name(self, obj: InteractionEvent) -> str | None:
        return _display_name(obj.actor)


# ----- request bodies of the actions ---------------------------------------------------------------
class SendTextSerializer(serializers.Serializer):
    text = serializers.CharField()


class SendFileSerializer(serializers.Serializer):
    file = serializers.FileField()
    text = serializers.CharField(required=False, allow_blank=True, help_text="Caption.")
    voice = serializers.BooleanField(required=False, help_text="The file is a voice recording.")


class InteractionPatchSerializer(serializers.Serializer):
    """``PATCH interactions/{id}/``: the owner or a supervisor sets its tags or its contact."""

    tags = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=200)
    contact = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**63 - 1)


class NoteTextSerializer(serializers.Serializer):
    text = serializers.CharField()


class CloseSerializer(serializers.Serializer):
    disposition = serializers.IntegerField(required=False, allow_null=True)


class TransferRequestSerializer(serializers.Serializer):
    to_agent = serializers.IntegerField(required=False, allow_null=True)
    to_queue = serializers.IntegerField(required=False, allow_null=True)

    def validate(self, attrs):
        if bool(attrs.get("to_agent")) == bool(attrs.get("to_queue")):
            raise serializers.ValidationError("Give either to_agent or to_queue.")
        return attrs


class OfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    interaction = InteractionSerializer()
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    preview = serializers.SerializerMethodField()

    def get_preview(self, obj) -> str:
        return offer_preview(obj.interaction)
