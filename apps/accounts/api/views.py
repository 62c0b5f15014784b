from __future__ import annotations

from django.db.models import ProtectedError
from rest_framework import serializers, viewsets

from apps.accounts.models import WhatsAppAccount
from apps.accounts.services import account_create, account_update
from apps.core.api_views import IsAdmin
from apps.core.exceptions import Conflict, ServiceError

from .serializers import AccountSerializer


def field_errors(exc: ServiceError) -> serializers.ValidationError:
    """A service's ``Invalid`` as a 400 that keeps its code and names the fields."""
    return serializers.ValidationError(
        {"code": exc.code, "detail": exc.detail, "errors": getattr(exc, "errors", {}) or {}}
    )


class AccountViewSet(viewsets.ModelViewSet):
    """WhatsApp accounts (B1): administrators only, since they hold the provider credentials."""

    serializer_class = AccountSerializer
    permission_classes = [IsAdmin]
    queryset = WhatsAppAccount.objects.select_related("queue").order_by("name")
    filterset_fields = ["provider", "queue", "is_active"]

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        try:
            serializer.instance = account_create(
                name=data.pop("name"),
                provider=data.pop("provider"),
                phone_number=data.pop("phone_number"),
                credentials=data.pop("credentials", {}),
                api_base_url=data.pop("api_base_url", ""),
                queue=data.pop("queue"),
                **data,
            )
        except ServiceError as exc:
            if getattr(exc, "errors", None):
                raise field_errors(exc) from exc
            raise

    def perform_update(self, serializer):
        fields = dict(serializer.validated_data)
        try:
            serializer.instance = account_update(account=serializer.instance, **fields)
        except ServiceError as exc:
            if getattr(exc, "errors", None):
                raise field_errors(exc) from exc
            raise

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise Conflict("account_in_use", "This account has interactions: deactivate it instead.") from exc
