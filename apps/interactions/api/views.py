"""Interactions over REST (R1). Reads only here; the actions (accept, close, send, ...) are added
to ``InteractionViewSet`` with ``@action`` and call the interaction services."""
from __future__ import annotations

import django_filters
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import filters, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView

from apps.core.api_views import AnyContentNegotiation, CodedErrorsMixin
from apps.core.phones import normalize_phone
from apps.interactions.models import Interaction
from apps.interactions.selectors import interaction_list_for, message_list_for

from .serializers import InteractionEventSerializer, InteractionSerializer, MessageSerializer, NoteSerializer


class InteractionFilter(django_filters.FilterSet):
    customer_phone = django_filters.CharFilter(method="filter_customer_phone")
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    unread = django_filters.BooleanFilter(method="filter_unread")
    tags = django_filters.NumberFilter(field_name="tags")

    class Meta:
        model = Interaction
        fields = ["account", "queue", "status", "owner", "first_agent", "contact", "origin"]

    def filter_customer_phone(self, queryset, name, value):
        raw = (value or "").strip()
        # An unencoded "+" in a query string arrives as a space.
        if raw and raw[0].isdigit():
            raw = "+" + raw
        try:
            raw = normalize_phone(raw)
        except ValueError:
            pass
        return queryset.filter(customer_phone=raw)

    def filter_unread(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(unread_count__gt=0) if value else queryset.filter(unread_count=0)


class InteractionViewSet(
    CodedErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Interactions the caller may see: all for supervisors and admins, their queues' and their own
    for agents. Anything else is a 404."""

    serializer_class = InteractionSerializer
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = InteractionFilter
    search_fields = ["customer_phone", "customer_name", "contact__first_name", "contact__last_name"]
    ordering_fields = ["started_at", "last_message_at", "closed_at", "id", "unread_count", "status"]
    ordering = ["-last_message_at", "-id"]

    def get_queryset(self):
        return interaction_list_for(self.request.user)

    def get_interaction(self) -> Interaction:
        """The URL's interaction if the caller may see it (for actions on one interaction)."""
        queryset = interaction_list_for(self.request.user)
        interaction = queryset.filter(pk=self.kwargs["pk"]).first() if str(self.kwargs["pk"]).isdigit() else None
        if interaction is None:
            raise NotFound()
        return interaction

    def _paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(responses=MessageSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], serializer_class=MessageSerializer, filter_backends=[])
    def messages(self, request, pk=None):
        interaction = self.get_interaction()
        queryset = interaction.messages.select_related("sender", "template").order_by("created_at", "id")
        return self._paginated(queryset, MessageSerializer)

    @extend_schema(responses=NoteSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], serializer_class=NoteSerializer, filter_backends=[])
    def notes(self, request, pk=None):
        interaction = self.get_interaction()
        queryset = interaction.notes.select_related("author").order_by("created_at", "id")
        return self._paginated(queryset, NoteSerializer)

    @extend_schema(responses=InteractionEventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], serializer_class=InteractionEventSerializer, filter_backends=[])
    def history(self, request, pk=None):
        interaction = self.get_interaction()
        queryset = interaction.history.select_related("actor").order_by("created_at", "id")
        return self._paginated(queryset, InteractionEventSerializer)


# Shown in the browser; anything else (HTML, SVG, scripts a customer sent) is only downloaded, so a
# file can never run as a page of our origin.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/", "application/pdf", "text/plain")


class MessageAttachmentView(CodedErrorsMixin, APIView):
    """The stored file of a message, under the API's auth and the interaction's visibility."""

    content_negotiation_class = AnyContentNegotiation

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            404: OpenApiResponse(description="No such message, not visible, or no attachment."),
        }
    )
    def get(self, request, pk: int):
        message = message_list_for(request.user).filter(pk=pk).first()
        if message is None:
            raise NotFound()
        if not message.attachment:
            raise NotFound("This message has no attachment.", code="no_attachment")
        try:
            handle = message.attachment.open("rb")
        except (FileNotFoundError, OSError) as exc:
            raise NotFound("The attachment file is missing.", code="attachment_missing") from exc
        filename = message.attachment_filename or message.attachment.name.rsplit("/", 1)[-1]
        content_type = message.attachment_content_type or "application/octet-stream"
        inline = content_type.startswith(INLINE_TYPES) and request.query_params.get("download") not in ("1", "true")
        response = FileResponse(handle, as_attachment=not inline, filename=filename, content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response
