"""Campaigns over REST (B4): admins write and act; supervisors and admins follow the progress."""
from __future__ import annotations

import csv

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient
from apps.campaigns.selectors import campaign_list_for
from apps.core.api import FilterSet
from apps.core.api_views import AnyContentNegotiation, is_admin
from apps.core.exceptions import Conflict

from .serializers import CampaignSerializer, RecipientSerializer


class CampaignPermission(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_supervisor_or_admin):
            return False
        return request.method in permissions.SAFE_METHODS or is_admin(user)


class RecipientFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=CampaignRecipient.Status.choices)

    class Meta:
        model = CampaignRecipient
        fields = ["status"]


class _Echo:
    def write(self, value):
        return value


class CampaignViewSet(viewsets.ModelViewSet):
    serializer_class = CampaignSerializer
    permission_classes = [CampaignPermission]
    filterset_fields = ["account", "status", "template", "contact_list"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Campaign.objects.none()
        return campaign_list_for(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.campaign_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.campaign_update(campaign_id=serializer.instance.pk, **serializer.validated_data)

    def perform_destroy(self, instance):
        if instance.status not in (Campaign.Status.DRAFT, Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
            raise Conflict("bad_state", "Cancel the campaign before deleting it.")
        instance.delete()

    def _respond(self, campaign: Campaign) -> Response:
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def launch(self, request, pk=None):
        """Start now (or at `scheduled_at`). 409 `plan_inbound_only`, `provider_unsupported`,
        `template_not_approved`, `bad_state`; 400 `wrong_param_count` for a mapping that does not fit."""
        return self._respond(services.campaign_launch(campaign_id=self.get_object().pk, user=request.user))

    @extend_schema(request=None, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def pause(self, request, pk=None):
        return self._respond(services.campaign_pause(campaign_id=self.get_object().pk))

    @extend_schema(request=None, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, pk=None):
        return self._respond(services.campaign_resume(campaign_id=self.get_object().pk))

    @extend_schema(request=None, responses={200: CampaignSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        return self._respond(services.campaign_cancel(campaign_id=self.get_object().pk))

    @extend_schema(
        responses=RecipientSerializer(many=True),
        parameters=[OpenApiParameter("status", str, enum=CampaignRecipient.Status.values)],
        filters=False,
    )
    @action(detail=True, methods=["get"], serializer_class=RecipientSerializer, filter_backends=[])
    def recipients(self, request, pk=None):
        """The campaign's recipients, filtered by `?status=`."""
        campaign = self.get_object()
        queryset = RecipientFilter(request.query_params, queryset=campaign.recipients.order_by("id")).qs
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=CampaignRecipient.Status.values)],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The recipients as CSV.")},
        filters=False,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="recipients/csv",
        filter_backends=[],
        content_negotiation_class=AnyContentNegotiation,
    )
    def recipients_csv(self, request, pk=None):
        """Every recipient as CSV, streamed (a list of 100,000 never sits in memory)."""
        campaign = self.get_object()
        queryset = RecipientFilter(request.query_params, queryset=campaign.recipients.order_by("id")).qs
        columns = ["id", "contact_id", "phone", "status", "error_code", "error_message", "provider_message_id",
                   "interaction_id", "sent_at", "replied_at", "updated_at"]
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(columns)
            for row in queryset.values_list(*columns).iterator(chunk_size=2000):
                yield writer.writerow(["" if v is None else v for v in row])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-recipients.csv"'
        return response
