"""Contact lists, contacts and tags, as CONTRACT.md shapes them. Customer fields are masked here (B5).

Nothing here may need a request: realtime events reuse ``ContactSerializer`` with
``context={"request": None, "masking": level}``.
"""
from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.masking import MaskedFieldsMixin

from ..models import Contact, ContactList, ContactListPermission, CustomField, Tag


class CustomFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = ["key", "label", "kind", "choices"]
        extra_kwargs = {"kind": {"required": False}, "choices": {"required": False}}

    def validate_choices(self, value):
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise serializers.ValidationError("A list of values is expected.")
        return [str(v) for v in value]

    def validate(self, attrs):
        if attrs.get("kind") == CustomField.Kind.CHOICE and not attrs.get("choices"):
            raise serializers.ValidationError({"choices": "A choice field needs its choices."})
        return attrs


class ContactListSerializer(serializers.ModelSerializer):
    custom_fields = CustomFieldSerializer(many=True, required=False)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "custom_fields", "can_edit"]

    @extend_schema_field({"type": "boolean", "description": "The caller may add and edit this list's contacts."})
    def get_can_edit(self, obj: ContactList) -> bool:
        return bool(getattr(obj, "user_can_edit", False))

    def validate_custom_fields(self, value):
        keys = [f["key"] for f in value]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError("Each key may appear once.")
        return value

    def _save_fields(self, contact_list: ContactList, fields: list[dict] | None) -> None:
        if fields is None:
            return
        keep = []
        for entry in fields:
            obj, _ = CustomField.objects.update_or_create(contact_list=contact_list, key=entry["key"], defaults=entry)
            keep.append(obj.pk)
        contact_list.custom_fields.exclude(pk__in=keep).delete()

    def create(self, validated_data):
        fields = validated_data.pop("custom_fields", None)
        contact_list = super().create(validated_data)
        self._save_fields(contact_list, fields)
        contact_list.user_can_edit = True
        return contact_list

    def update(self, instance, validated_data):
        fields = validated_data.pop("custom_fields", None)
        instance = super().update(instance, validated_data)
        self._save_fields(instance, fields)
        instance.user_can_edit = True
        return instance


class ListPermissionSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    group = serializers.IntegerField(source="group_id", required=False, allow_null=True, min_value=1, max_value=2**63 - 1)
    can_edit = serializers.BooleanField(required=False, default=False)

    class Meta:
        model = ContactListPermission
        fields = ["user", "group", "can_edit"]

    def validate(self, attrs):
        if bool(attrs.get("user_id")) == bool(attrs.get("group_id")):
            raise serializers.ValidationError("Give either user or group.")
        return attrs


class ContactSerializer(MaskedFieldsMixin, serializers.ModelSerializer):
    masked_fields = {"first_name": "name", "last_name": "name", "phone": "phone", "email": "email"}

    list = serializers.PrimaryKeyRelatedField(source="contact_list", read_only=True)
    tags = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    custom_fields = serializers.DictField(read_only=True)
    # Plain strings: empty, or masked (``•••@•••``) for agents, so never promised to be an address.
    email = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True, help_text="E.164 (masked for agents when settings say so).")

    class Meta:
        model = Contact
        fields = [
            "id",
            "list",
            "first_name",
            "last_name",
            "phone",
            "email",
            "company",
            "custom_fields",
            "tags",
            "created_at",
            "updated_at",
            # extras
            "notes",
            "created_automatically",
        ]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    """The body of a contact write; the service validates phone, email and custom fields."""

    list = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="Required to create.")
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, help_text="E.164.")
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    company = serializers.CharField(required=False, allow_blank=True, max_length=120)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    custom_fields = serializers.DictField(required=False)
    tags = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=200
    )


class MergeSerializer(serializers.Serializer):
    other = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The contact merged into this one, then deleted.")


class DuplicateSerializer(serializers.Serializer):
    list = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class ImportSerializer(serializers.Serializer):
    list = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    file = serializers.FileField()
    mapping = serializers.JSONField(
        required=False,
        help_text='CSV column -> field: {"Name": "first_name", "Mobile": "phone", "Tier": "custom.tier", "Labels": "tags"}.',
    )

    def validate_mapping(self, value):
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise serializers.ValidationError("An object of column -> field names is expected.")
        return value


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField(), help_text='[{"row": 3, "errors": ["..."]}]')


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "color"]

    def validate_color(self, value: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
            raise serializers.ValidationError("A colour like #3b82f6 is expected.")
        return value
