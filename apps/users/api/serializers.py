from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from apps.queues.models import Queue
from apps.users.models import User
from apps.users.services import user_admin_change_check, user_set_presence


class UserSerializer(serializers.ModelSerializer):
    queues = serializers.PrimaryKeyRelatedField(many=True, queryset=Queue.objects.all(), required=False)
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=False, style={"input_type": "password"}, trim_whitespace=False
    )
    display_name = serializers.CharField(read_only=True)
    can_download_transcripts = serializers.BooleanField(
        required=False,
        help_text="May download PDF transcripts (403 `no_transcript_permission` otherwise); true for supervisors and admins by default.",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "queues",
            "presence",
            "presence_changed_at",
            "display_name",
            "can_download_transcripts",
            "max_open_interactions",
            "is_active",
            "password",
        ]
        read_only_fields = ["presence_changed_at"]
        extra_kwargs = {"email": {"required": False}}

    def validate(self, attrs):
        password = attrs.get("password")
        if self.instance is None and not password:
            raise serializers.ValidationError({"password": ["A new user needs a password."]})
        if password:
            candidate = self.instance or User(**{k: v for k, v in attrs.items() if k not in ("password", "queues")})
            try:
                validate_password(password, candidate)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs

    def create(self, validated_data):
        queues = validated_data.pop("queues", None)
        password = validated_data.pop("password")
        with transaction.atomic():
            user = User(**validated_data)
            user.set_password(password)
            user.save()
            if queues is not None:
                user.queues.set(queues)
        return user

    def update(self, instance, validated_data):
        queues = validated_data.pop("queues", None)
        password = validated_data.pop("password", None)
        presence = validated_data.pop("presence", None)
        request = self.context.get("request")
        with transaction.atomic():
            user_admin_change_check(user=instance, changes=validated_data, actor=getattr(request, "user", None))
            for key, value in validated_data.items():
                setattr(instance, key, value)
            if password:
                instance.set_password(password)
            instance.save()
            if queues is not None:
                instance.queues.set(queues)
        if presence is not None and presence != instance.presence:
            # Presence drives offers: go through the service, never a bare field write.
            user_set_presence(user=instance, presence=presence)
        return instance


class PresenceSerializer(serializers.Serializer):
    presence = serializers.ChoiceField(choices=User.Presence.choices)
