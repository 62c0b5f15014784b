"""Templates over REST (B3): admins write; agents read the approved ones of their queues' accounts."""
from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.accounts.models import WhatsAppAccount
from apps.core.api import FilterSet
from apps.core.api_serializers import ErrorSerializer
from apps.core.api_views import IsAdmin, IsAdminOrReadOnly
from apps.core.exceptions import Invalid
from apps.core.masking import masking_level_for
from apps.interactions.selectors import interaction_list_for
from apps.templates import services
from apps.templates.models import Template
from apps.templates.selectors import template_list_for

from .serializers import (
    TemplateRenderRequestSerializer,
    TemplateRenderSerializer,
    TemplateSerializer,
    TemplateSyncRequestSerializer,
    TemplateSyncResultSerializer,
)


class TemplateFilter(FilterSet):
    recontact = django_filters.BooleanFilter(
        method="filter_recontact", help_text="true: only the templates that are their account's recontact template (D7)."
    )

    class Meta:
        model = Template
        fields = ["account", "status", "category", "language", "available_for_agents"]

    def filter_recontact(self, queryset, name, value):
        chosen = WhatsAppAccount.objects.filter(recontact_template__isnull=False).values("recontact_template")
        return queryset.filter(pk__in=chosen) if value else queryset.exclude(pk__in=chosen)


class TemplateViewSet(viewsets.ModelViewSet):
    serializer_class = TemplateSerializer
    permission_classes = [IsAdminOrReadOnly]
    filterset_class = TemplateFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Template.objects.none()
        return template_list_for(self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.template_create(account=data.pop("account"), **data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "account" in data and data["account"].pk != serializer.instance.account_id:
            raise Invalid("account_read_only", "A template stays on its account.")
        data.pop("account", None)
        serializer.instance = services.template_update(template=serializer.instance, **data)

    @extend_schema(
        request=TemplateSyncRequestSerializer,
        responses={200: TemplateSyncResultSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAdmin], filter_backends=[], pagination_class=None)
    def sync(self, request):
        """Pull the provider's template list into the account: counts of created, updated, unchanged."""
        body = TemplateSyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = WhatsAppAccount.objects.filter(pk=body.validated_data["account"]).first()
        if account is None:
            raise NotFound("No such account.")
        return Response(services.template_sync(account=account))

    @extend_schema(request=None, responses={200: TemplateSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAdmin], filter_backends=[])
    def submit(self, request, pk=None):
        """Send a draft for approval (Meta, Kaleyra); it becomes `pending` until the provider decides."""
        template = services.template_submit(template=self.get_object())
        return Response(TemplateSerializer(template, context=self.get_serializer_context()).data)

    @extend_schema(request=TemplateRenderRequestSerializer, responses={200: TemplateRenderSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated], filter_backends=[])
    def render(self, request, pk=None):
        """The template as the customer will read it with these parameters (400 `wrong_param_count`),
        or with `{"interaction": id}` filled from that interaction's contact (the recontact preview)."""
        body = TemplateRenderRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        template = self.get_object()
        if "interaction" in body.validated_data:
            interaction = interaction_list_for(request.user).filter(pk=body.validated_data["interaction"]).first()
            if interaction is None:
                raise NotFound("No such interaction.")
            return Response(services.template_render_for_contact(
                template=template, contact=interaction.contact, fallback_name=interaction.customer_name,
                masking=masking_level_for(request.user),
            ))
        return Response(services.template_render(template=template, params=body.validated_data["params"]))
