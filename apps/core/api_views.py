"""Installation-wide API endpoints (token, settings) and the permissions every app's API shares."""
from __future__ import annotations

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions
from rest_framework.authtoken.models import Token
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_serializers import InstallationSettingsSerializer, TokenRequestSerializer, TokenSerializer
from .exceptions import Invalid
from .masking import publish_masking_change
from .models import InstallationSettings


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or getattr(user, "role", None) == "admin"))


class IsAdmin(permissions.BasePermission):
    """Administrators only (role ``admin`` or a Django superuser)."""

    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class IsAdminOrReadOnly(permissions.BasePermission):
    """Everyone authenticated reads; only administrators write."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)


class AnyContentNegotiation(DefaultContentNegotiation):
    """For file downloads: an ``<img>``'s ``Accept: image/*`` must not end in 406 before the view runs."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <token>``)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer}, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise Invalid("invalid_credentials", "Unable to log in with the provided username and password.")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class SettingsView(APIView):
    """The installation settings (B5): one object, read by everyone, changed by administrators."""

    permission_classes = [IsAdminOrReadOnly]
    serializer_class = InstallationSettingsSerializer

    @extend_schema(responses=InstallationSettingsSerializer)
    def get(self, request):
        return Response(InstallationSettingsSerializer(InstallationSettings.load()).data)

    @extend_schema(request=InstallationSettingsSerializer, responses=InstallationSettingsSerializer)
    def patch(self, request):
        return self._update(request, partial=True)

    @extend_schema(request=InstallationSettingsSerializer, responses=InstallationSettingsSerializer)
    def put(self, request):
        return self._update(request, partial=False)

    def _update(self, request, *, partial: bool):
        with transaction.atomic():
            instance = InstallationSettings.load()
            old_masking = instance.masking
            serializer = InstallationSettingsSerializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            serializer.save()
            publish_masking_change(old_masking, serializer.instance.masking)
        return Response(serializer.data)
