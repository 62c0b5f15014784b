"""Agent-started conversations over REST (D8): ``interactions/lookup/`` and ``interactions/start/``.

Routed before the interactions router in ``instant/api_urls.py`` so "start" and "lookup" are never
read as an interaction id.
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_serializers import ErrorSerializer
from apps.interactions import services
from apps.interactions.selectors import interaction_list_for

from .serializers import InteractionSerializer


class StartInputSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    phone = serializers.CharField(max_length=64)
    template = serializers.IntegerField(required=False, allow_null=True)
    params = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1024),
        required=False,
        default=list,
        max_length=100,
    )
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class LookupSerializer(serializers.Serializer):
    phone = serializers.CharField(help_text="The number as E.164.")
    contact = serializers.IntegerField(allow_null=True)
    contact_name = serializers.CharField(allow_blank=True)
    window_open = serializers.BooleanField()
    open_interaction = serializers.IntegerField(allow_null=True)
    owner = serializers.IntegerField(allow_null=True)
    campaign_pending = serializers.BooleanField()


class InteractionLookupView(APIView):
    """What the desktop's "+" shows before sending: contact, window, open interaction, pending campaign."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("account", int, required=True),
            OpenApiParameter("phone", str, required=True, description="E.164, or national in the account's region."),
        ],
        responses={200: LookupSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        phone = request.query_params.get("phone", "")
        # An unencoded "+" in a query string arrives as a space.
        if phone[:1] == " ":
            phone = "+" + phone[1:]
        result = services.interaction_lookup(
            user=request.user, account_id=request.query_params.get("account"), phone=phone
        )
        return Response(result)


class StartAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone_number = serializers.CharField()
    provider = serializers.CharField()


class StartOptionsSerializer(serializers.Serializer):
    accounts = StartAccountSerializer(many=True)


class InteractionStartView(APIView):
    """Start a conversation as the caller (D8): 201 with the interaction, owned by the caller, open."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: StartOptionsSerializer})
    def get(self, request):
        """The accounts the caller may start a conversation on (the desktop's "+" lists them)."""
        accounts = services.start_accounts_for(request.user)
        return Response({"accounts": [
            {"id": a.pk, "name": a.name, "phone_number": a.phone_number, "provider": a.provider} for a in accounts
        ]})

    @extend_schema(
        request=StartInputSerializer,
        responses={201: InteractionSerializer, 400: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request):
        body = StartInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        interaction = services.interaction_start(
            user=request.user,
            account_id=data["account"],
            phone=data["phone"],
            template_id=data.get("template"),
            params=data.get("params") or [],
            text=data.get("text") or "",
        )
        interaction = interaction_list_for(request.user).get(pk=interaction.pk)
        return Response(InteractionSerializer(interaction, context={"request": request}).data, status=201)
