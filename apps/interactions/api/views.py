"""Interactions over REST (R1). Reads only here; the actions (accept, close, send, ...) are added
to ``InteractionViewSet`` with ``@action`` and call the interaction services."""
from __future__ import annotations

import django_filters
from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.contacts.models import Tag
from apps.core.api import FilterBackend, FilterSet, IdsFilter, IsoDateTimeFilter
from apps.core.api_views import AnyContentNegotiation
from apps.core.masking import NONE, MaskedSearchFilter, masked_phone_q, masking_level_for
from apps.core.media import file_response
from apps.core.phones import normalize_phone
from apps.interactions import services
from apps.interactions.models import Interaction, InteractionOffer
from apps.interactions.selectors import (
    interaction_list_for,
    interactions_search,
    interactions_with_tags,
    interactions_with_text,
    message_list_for,
    note_list_for,
    with_unmanaged_counts,
)
from apps.interactions.transcripts import transcript_pdf
from apps.transfers.api.serializers import TransferSerializer
from apps.transfers.services import transfer_request

from .serializers import (
    CloseSerializer,
    InteractionPatchSerializer,
    InteractionEventSerializer,
    InteractionSerializer,
    MessageSerializer,
    NoteSerializer,
    NoteTextSerializer,
    OfferSerializer,
    SendFileSerializer,
    SendTextSerializer,
    TransferRequestSerializer,
)


class InteractionFilter(FilterSet):
    customer_phone = django_filters.CharFilter(method="filter_customer_phone")
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    unread = django_filters.BooleanFilter(method="filter_unread")
    # D10 list filters (apps.interactions.selectors): several tags must all match; ``q`` is the one
    # search box (name, number, message text); ``text`` the advanced search over message text.
    tags = IdsFilter(method="filter_tags", queryset=Tag.objects.all(), help_text="Repeatable: all must match.")
    closed = django_filters.BooleanFilter(method="filter_closed", help_text="true: closed only; false: waiting or open.")
    q = django_filters.CharFilter(method="filter_q", help_text="The customer's name or number, or words of a message.")
    text = django_filters.CharFilter(method="filter_text", help_text="Words of a message.")
    customer_name = django_filters.CharFilter(method="filter_customer_name")
    direction = django_filters.ChoiceFilter(field_name="last_message_direction", choices=Interaction.Direction.choices)

    class Meta:
        model = Interaction
        fields = ["account", "queue", "status", "owner", "first_agent", "contact", "origin", "disposition"]

    def filter_tags(self, queryset, name, value):
        return interactions_with_tags(queryset, [tag.pk for tag in value or ()])

    def filter_closed(self, queryset, name, value):
        if value is None:
            return queryset
        closed = Q(status=Interaction.Status.CLOSED)
        return queryset.filter(closed) if value else queryset.exclude(closed)

    def filter_q(self, queryset, name, value):
        return interactions_search(queryset, value, clear=masking_level_for(self.request.user) == NONE)

    def filter_text(self, queryset, name, value):
        return interactions_with_text(queryset, value)

    def filter_customer_name(self, queryset, name, value):
        # B5: a masked agent may not test a guess of a hidden name (apps.core.masking).
        if masking_level_for(self.request.user) != NONE:
            return queryset.none()
        return queryset.filter(customer_name__icontains=value)

    def filter_customer_phone(self, queryset, name, value):
        # B5: a masked agent matches only the digits the mask shows (apps.core.masking).
        level = masking_level_for(self.request.user)
        if level != NONE:
            return queryset.filter(masked_phone_q("customer_phone", value, level))
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


# Request bodies as the actions read them: any shape but an object of these fields is a 400.
# Empty text is the services' to refuse, with their own codes (`empty_message`, `empty_note`).
class _MessageInput(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)
    file = serializers.FileField(required=False)
    voice = serializers.BooleanField(required=False, default=False)


class _NoteInput(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)


class InteractionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Interactions the caller may see: all for supervisors and admins, their queues' and their own
    for agents. Anything else is a 404."""

    serializer_class = InteractionSerializer
    filter_backends = [FilterBackend, MaskedSearchFilter, filters.OrderingFilter]
    filterset_class = InteractionFilter
    search_fields = ["customer_phone", "customer_name", "contact__first_name", "contact__last_name"]
    # What a masked agent's search may not compare in clear (B5, apps.core.masking).
    masked_search_fields = {
        "customer_phone": "phone",
        "customer_name": "name",
        "contact__first_name": "name",
        "contact__last_name": "name",
    }
    ordering_fields = ["started_at", "last_message_at", "closed_at", "id", "unread_count", "status"]
    ordering = ["-last_message_at", "-id"]

    def get_queryset(self):
        queryset = interaction_list_for(self.request.user)
        if self.action == "list":
            queryset = with_unmanaged_counts(queryset)
        return queryset

    def get_interaction(self) -> Interaction:
        """The URL's interaction if the caller may see it (for actions on one interaction)."""
        queryset = interaction_list_for(self.request.user)
        pk = str(self.kwargs["pk"])
        interaction = queryset.filter(pk=pk).first() if pk.isascii() and pk.isdigit() else None
        if interaction is None:
            raise NotFound()
        return interaction

    def _paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @extend_schema(
        methods=["GET"], responses=MessageSerializer(many=True), filters=False
    )
    @extend_schema(
        methods=["POST"],
        request={"application/json": SendTextSerializer, "multipart/form-data": SendFileSerializer},
        responses={201: MessageSerializer},
        description="Send a message: `{\"text\"}`, or multipart `file` (+ `text` caption, `voice`=1 for a recording).",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=MessageSerializer,
        filter_backends=[],
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def messages(self, request, pk=None):
        interaction = self.get_interaction()
        if request.method == "POST":
            body = _MessageInput(data=request.data)
            body.is_valid(raise_exception=True)
            message = services.message_send(
                interaction_id=interaction.pk,
                user=request.user,
                text=body.validated_data.get("text") or "",
                upload=body.validated_data.get("file"),
                voice=body.validated_data.get("voice", False),
            )
            return Response(MessageSerializer(message, context=self.get_serializer_context()).data, status=201)
        queryset = interaction.messages.select_related("sender", "template").order_by("created_at", "id")
        return self._paginated(queryset, MessageSerializer)

    @extend_schema(methods=["GET"], responses=NoteSerializer(many=True), filters=False)
    @extend_schema(methods=["POST"], request=NoteTextSerializer, responses={201: NoteSerializer})
    @action(detail=True, methods=["get", "post"], serializer_class=NoteSerializer, filter_backends=[])
    def notes(self, request, pk=None):
        interaction = self.get_interaction()
        if request.method == "POST":
            body = _NoteInput(data=request.data)
            body.is_valid(raise_exception=True)
            note = services.note_create(
                interaction_id=interaction.pk, user=request.user, text=body.validated_data.get("text") or ""
            )
            return Response(NoteSerializer(note, context=self.get_serializer_context()).data, status=201)
        queryset = note_list_for(request.user, interaction).order_by("created_at", "id")
        return self._paginated(queryset, NoteSerializer)

    @extend_schema(request=InteractionPatchSerializer, responses={200: InteractionSerializer})
    def partial_update(self, request, pk=None):
        """Set the interaction's `tags` or link it to a `contact` (owner or supervisor; the contact's
        list must be one the caller may view, else 403 `no_list_permission`)."""
        body = InteractionPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "tags" in changes:
            changes["tag_ids"] = changes.pop("tags")
        if "contact" in changes:
            changes["contact_id"] = changes.pop("contact")
        interaction = services.interaction_set_contact_and_tags(
            interaction_id=self.get_interaction().pk, user=request.user, **changes
        )
        return self._interaction_response(interaction)

    def _interaction_response(self, interaction: Interaction, status: int = 200) -> Response:
        interaction = interaction_list_for(self.request.user).get(pk=interaction.pk)
        return Response(InteractionSerializer(interaction, context=self.get_serializer_context()).data, status=status)

    @extend_schema(request=None, responses={200: InteractionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        """Take a waiting interaction. Exactly one of any number of concurrent accepts gets 200;
        every other, a repeat by the winner included, gets 409 `already_taken`."""
        interaction = services.interaction_accept(interaction_id=self.get_interaction().pk, user=request.user)
        return self._interaction_response(interaction)

    @extend_schema(request=None, responses={200: InteractionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        interaction = services.interaction_reject(interaction_id=self.get_interaction().pk, user=request.user)
        return self._interaction_response(interaction)

    @extend_schema(request=None, responses={200: InteractionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request, pk=None):
        """Mark the interaction's inbound messages read by its owner (`unread_count` becomes 0)."""
        interaction = services.interaction_mark_read(interaction_id=self.get_interaction().pk, user=request.user)
        return self._interaction_response(interaction)

    @extend_schema(request=CloseSerializer, responses={200: InteractionSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def close(self, request, pk=None):
        serializer = CloseSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        interaction = services.interaction_close(
            interaction_id=self.get_interaction().pk,
            user=request.user,
            disposition_id=serializer.validated_data.get("disposition"),
        )
        return self._interaction_response(interaction)

    @extend_schema(request=None, responses={201: MessageSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def recontact(self, request, pk=None):
        """Send the account's recontact template once the 24-hour window has closed."""
        message = services.interaction_recontact(interaction_id=self.get_interaction().pk, user=request.user)
        return Response(MessageSerializer(message, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=TransferRequestSerializer, responses={201: TransferSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def transfer(self, request, pk=None):
        serializer = TransferRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfer_request(
            interaction_id=self.get_interaction().pk,
            user=request.user,
            to_agent_id=serializer.validated_data.get("to_agent"),
            to_queue_id=serializer.validated_data.get("to_queue"),
        )
        return Response(TransferSerializer(transfer, context=self.get_serializer_context()).data, status=201)

    @extend_schema(
        request=None,
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The transcript.")},
    )
    def transcript(self, request, pk=None):
        """The interaction as a PDF (routed explicitly as ``transcript.pdf``, see api_urls)."""
        interaction = self.get_interaction()
        pdf = transcript_pdf(interaction=interaction, user=request.user)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="interaction-{interaction.pk}.pdf"'
        return response

    @extend_schema(responses=InteractionEventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], serializer_class=InteractionEventSerializer, filter_backends=[])
    def history(self, request, pk=None):
        interaction = self.get_interaction()
        queryset = interaction.history.select_related("actor").order_by("created_at", "id")
        return self._paginated(queryset, InteractionEventSerializer)


class MessageAttachmentView(APIView):
    """The stored file of a message, under the API's auth and the interaction's visibility.

    Inline only for inline-safe types (see ``apps.core.media``); ``?download=1`` always downloads."""

    content_negotiation_class = AnyContentNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("download", bool, description="Download even an image, audio, video or PDF.")],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as its stored type.")},
    )
    def get(self, request, pk: int):
        message = message_list_for(request.user).filter(pk=pk).first()
        if message is None:
            raise NotFound()
        if not message.attachment:
            raise NotFound("This message has no attachment.", code="no_attachment")
        try:
            handle = message.attachment.open("rb")
        except OSError as exc:
            raise NotFound("The attachment file is missing.", code="attachment_missing") from exc
        filename = message.attachment_filename or message.attachment.name.rsplit("/", 1)[-1]
        inline = request.query_params.get("download") not in ("1", "true", "True")
        return file_response(handle, content_type=message.attachment_content_type, filename=filename, inline=inline)


class OfferViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's live offers (D2): what the desktop shows as offer cards after a reconnect."""

    serializer_class = OfferSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InteractionOffer.objects.none()
        return (
            InteractionOffer.objects.filter(
                agent=self.request.user,
                status=InteractionOffer.Status.OFFERED,
                interaction__status=Interaction.Status.WAITING,
            )
            .select_related("interaction__account", "interaction__queue")
            .order_by("created_at", "id")
        )
