from __future__ import annotations

from rest_framework import serializers

from apps.templates.models import Template


class TemplateSerializer(serializers.ModelSerializer):
    """A template (B3, CONTRACT.md ``templates/``). ``status`` is the provider's to set, except on
    Sandbox accounts; the services refuse the rest with ``status_from_provider``."""

    param_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Template
        fields = [
            "id",
            "account",
            "name",
            "language",
            "category",
            "header",
            "body",
            "footer",
            "buttons",
            "examples",
            "contact_params",
            "param_count",
            "status",
            "rejection_reason",
            "available_for_agents",
            "provider_template_id",
            "synced_at",
            "updated_at",
        ]
        read_only_fields = ["synced_at", "updated_at", "rejection_reason"]
        validators: list = []  # the service answers a duplicate with 409 template_exists

    def validate_buttons(self, value):
        if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
            raise serializers.ValidationError("A list of button objects.")
        return value

    def validate_examples(self, value):
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise serializers.ValidationError("A list of sample values, one per body parameter.")
        return [str(v) for v in value]

    def validate_contact_params(self, value):
        if not isinstance(value, list):
            raise serializers.ValidationError('A list: [{"field": "first_name"}, {"value": "text"}, ...].')
        return value


class TemplateSyncRequestSerializer(serializers.Serializer):
    account = serializers.IntegerField()


class TemplateSyncResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class TemplateRenderRequestSerializer(serializers.Serializer):
    params = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False, default=list)
    interaction = serializers.IntegerField(
        required=False,
        help_text="Instead of params: fill them from this interaction's contact by the template's mapping "
        "(contact_params), as the recontact send does (D7).",
    )


class TemplateRenderSerializer(serializers.Serializer):
    text = serializers.CharField()
    header = serializers.CharField(allow_blank=True)
    footer = serializers.CharField(allow_blank=True)
    params = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False,
                                   help_text="With `interaction`: the values filled from the contact.")
    missing = serializers.ListField(child=serializers.IntegerField(), required=False,
                                    help_text="With `interaction`: the {{n}} the contact has no value for.")
