"""Contacts over REST (D9, B6): thin views over ``apps.contacts.services`` and ``selectors``."""
from __future__ import annotations

import re

import django_filters
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.api import INT64_MAX, INT64_MIN, FilterSet, IdsFilter
from apps.core.api_views import AnyContentNegotiation, IsAdmin, IsAdminOrReadOnly
from apps.core.exceptions import Invalid
from apps.core.masking import NONE, masking_level_for
from apps.interactions.api.serializers import InteractionSerializer, MessageSerializer
from apps.interactions.models import Interaction

from .. import selectors, services
from ..models import Contact, Tag
from .serializers import (
    ContactListSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    DuplicateSerializer,
    ImportReportSerializer,
    ImportSerializer,
    ListPermissionSerializer,
    MergeSerializer,
    TagSerializer,
)

_CUSTOM_PARAM = re.compile(r"^custom\.([-a-zA-Z0-9_]{1,60})$")


class ContactListViewSet(viewsets.ModelViewSet):
    """Contact lists (B6): agents see the lists they may view; admins write and set permissions."""

    serializer_class = ContactListSerializer
    permission_classes = [IsAdminOrReadOnly]

    def get_queryset(self):
        return selectors.contact_list_list_for(self.request.user).order_by("name")

    @extend_schema(methods=["GET"], responses=ListPermissionSerializer(many=True))
    @extend_schema(
        methods=["PUT"],
        request=ListPermissionSerializer(many=True),
        responses=ListPermissionSerializer(many=True),
        description="Replace the list's permissions: `[{\"user\": id, \"can_edit\": bool}, {\"group\": id, ...}]`.",
    )
    @action(detail=True, methods=["get", "put"], permission_classes=[IsAdmin], pagination_class=None, filter_backends=[])
    def permissions(self, request, pk=None):
        contact_list = self.get_object()
        if request.method == "PUT":
            body = ListPermissionSerializer(data=request.data, many=True)
            body.is_valid(raise_exception=True)
            services.contact_list_permissions_set(
                contact_list_id=contact_list.pk,
                entries=[{"user": e.get("user_id"), "group": e.get("group_id"), "can_edit": e["can_edit"]} for e in body.validated_data],
            )
        rows = contact_list.permissions.order_by("id")
        return Response(ListPermissionSerializer(rows, many=True).data)


class ContactFilter(FilterSet):
    list = django_filters.NumberFilter(field_name="contact_list", min_value=INT64_MIN, max_value=INT64_MAX)
    # Repeatable, and every tag given must be on the contact (conjoined).
    tags = IdsFilter(field_name="tags", queryset=Tag.objects.all(), conjoined=True)
    search = django_filters.CharFilter(method="filter_search", help_text="Name, phone, email or company.")
    phone = django_filters.CharFilter(method="filter_phone", help_text="An E.164 number.")
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Contacts the caller created or edited.")
    company = django_filters.CharFilter(field_name="company", lookup_expr="icontains")
    first_name = django_filters.CharFilter(method="filter_masked_text")
    last_name = django_filters.CharFilter(method="filter_masked_text")
    email = django_filters.CharFilter(method="filter_masked_text")

    class Meta:
        model = Contact
        fields = ["created_automatically"]

    def _user(self):
        return self.request.user

    def filter_search(self, queryset, name, value):
        return selectors.contact_search(queryset, user=self._user(), query=value)

    def filter_phone(self, queryset, name, value):
        return selectors.contact_phone_filter(queryset, user=self._user(), phone=value)

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        mine = Contact.editors.through.objects.filter(user=self._user()).values("contact_id")
        return queryset.filter(pk__in=mine) if value else queryset.exclude(pk__in=mine)

    def filter_masked_text(self, queryset, name, value):
        # B5: a masked agent cannot test a guess of a hidden name or email (see apps.core.masking).
        if masking_level_for(self._user()) != NONE:
            return queryset.none()
        return queryset.filter(**{f"{name}__icontains": value})


class ContactOrdering(filters.OrderingFilter):
    def get_default_ordering(self, view):
        # Sorting by a hidden name would tell a masked agent more than the mask shows.
        if masking_level_for(view.request.user) != NONE:
            return ["-updated_at", "-id"]
        return super().get_default_ordering(view)

    def get_valid_fields(self, queryset, view, context=None):
        fields = super().get_valid_fields(queryset, view, context or {})
        if masking_level_for(view.request.user) != NONE:
            fields = [f for f in fields if f[0] not in ("first_name", "last_name", "email", "phone")]
        return fields


@extend_schema(
    parameters=[
        OpenApiParameter(
            "custom.<key>",
            str,
            description="Advanced search on a custom field of the list: `?custom.tier=gold` (exact value).",
            required=False,
        )
    ]
)
class ContactViewSet(viewsets.ModelViewSet):
    """Contacts of the lists the caller may view (D9). Writes need edit permission on the list
    (403 `no_list_permission`). Phone, email and name are masked for agents as settings say (B5)."""

    serializer_class = ContactSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = ContactFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, ContactOrdering]
    ordering_fields = ["first_name", "last_name", "company", "created_at", "updated_at", "id"]
    ordering = ["first_name", "last_name", "id"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self):
        queryset = selectors.contact_list_for(self.request.user)
        for param, value in self.request.query_params.items():
            match = _CUSTOM_PARAM.match(param)
            if match:
                queryset = queryset.filter(**{f"custom_fields__{match.group(1)}": value})
        return queryset

    def get_contact(self) -> Contact:
        pk = str(self.kwargs["pk"])
        contact = selectors.contact_list_for(self.request.user).filter(pk=pk).first() if pk.isascii() and pk.isdigit() and len(pk) < 19 else None
        if contact is None:
            raise NotFound()
        return contact

    def get_object(self):
        return self.get_contact()

    def _contact_response(self, contact: Contact, status: int = 200) -> Response:
        contact = selectors.contact_list_for(self.request.user).get(pk=contact.pk)
        return Response(ContactSerializer(contact, context=self.get_serializer_context()).data, status=status)

    @extend_schema(request=ContactWriteSerializer, responses={201: ContactSerializer})
    def create(self, request, *args, **kwargs):
        body = ContactWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        if "list" not in data:
            raise Invalid("list_required", "list: the contact list is required.")
        contact = services.contact_create(
            user=request.user, contact_list_id=data.pop("list"), data=data, tag_ids=data.pop("tags", None)
        )
        return self._contact_response(contact, 201)

    @extend_schema(request=ContactWriteSerializer, responses={200: ContactSerializer})
    def update(self, request, *args, **kwargs):
        contact = self.get_contact()
        body = ContactWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data.pop("list", None)  # moving between lists is a duplicate, not an edit
        contact = services.contact_update(
            user=request.user, contact_id=contact.pk, data=data, tag_ids=data.pop("tags", None)
        )
        return self._contact_response(contact)

    @extend_schema(request=ContactWriteSerializer, responses={200: ContactSerializer})
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.contact_delete(user=request.user, contact_id=self.get_contact().pk)
        return Response(status=204)

    @extend_schema(request=MergeSerializer, responses={200: ContactSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def merge(self, request, pk=None):
        """Merge `other` into this contact: its interactions, tags, notes and the fields this one
        lacks move here, then `other` is deleted. Both lists need edit permission."""
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        other = selectors.contact_list_for(request.user).filter(pk=body.validated_data["other"]).first()
        if other is None:
            raise NotFound("No such contact.", code="not_found")
        contact = services.contact_merge(user=request.user, contact_id=self.get_contact().pk, other_id=other.pk)
        return self._contact_response(contact)

    @extend_schema(request=DuplicateSerializer, responses={201: ContactSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def duplicate(self, request, pk=None):
        body = DuplicateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        copy = services.contact_duplicate(
            user=request.user, contact_id=self.get_contact().pk, list_id=body.validated_data["list"]
        )
        return self._contact_response(copy, 201)

    @extend_schema(responses=InteractionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=InteractionSerializer)
    def journey(self, request, pk=None):
        """The contact's interactions across accounts and queues, newest first (read-only)."""
        contact = self.get_contact()
        queryset = (
            Interaction.objects.filter(contact=contact)
            .select_related("account", "queue", "owner", "first_agent", "disposition")
            .prefetch_related("tags")
            .order_by("-started_at", "-id")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(InteractionSerializer(page, many=True, context=self.get_serializer_context()).data)

    @extend_schema(responses=MessageSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        serializer_class=MessageSerializer,
        url_path=r"journey/(?P<interaction_id>[0-9]{1,18})/messages",
    )
    def journey_messages(self, request, pk=None, interaction_id=None):
        """One interaction of the journey, opened read-only: its messages."""
        interaction = Interaction.objects.filter(contact=self.get_contact(), pk=interaction_id).first()
        if interaction is None:
            raise NotFound()
        queryset = interaction.messages.select_related("sender", "template").order_by("created_at", "id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(MessageSerializer(page, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The filtered contacts as CSV.")},
    )
    @action(detail=False, methods=["get"], url_path="export", content_negotiation_class=AnyContentNegotiation)
    def export(self, request):
        """The contacts of the current filters as CSV (masked as the API is, B5)."""
        queryset = self.filter_queryset(self.get_queryset())
        list_id = request.query_params.get("list")
        keys: list[str] = []
        if list_id and list_id.isdigit():
            contact_list = selectors.contact_list_list_for(request.user).filter(pk=list_id).first()
            keys = [f.key for f in contact_list.custom_fields.all()] if contact_list else []
        tag_names = dict(Tag.objects.values_list("pk", "name"))
        context = self.get_serializer_context()

        def rows():
            for contact in queryset.iterator(chunk_size=500) if not queryset._prefetch_related_lookups else queryset:
                data = ContactSerializer(contact, context=context).data
                data["tag_names"] = [tag_names.get(pk, "") for pk in data["tags"]]
                yield data

        response = StreamingHttpResponse(services.contacts_csv(rows(), keys), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="contacts.csv"'
        return response

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={200: ImportReportSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser, JSONParser])
    def import_csv(self, request):
        """Import a CSV into a list (edit permission): column mapping, and a report of rejected rows."""
        body = ImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size and upload.size > 20 * 1024 * 1024:
            raise Invalid("file_too_large", "file: at most 20 MB.")
        report = services.contact_import_csv(
            user=request.user,
            contact_list_id=body.validated_data["list"],
            content=upload.read(),
            mapping=body.validated_data.get("mapping"),
        )
        return Response(report)


class TagViewSet(viewsets.ModelViewSet):
    """Tags (D9): everyone reads, administrators write."""

    serializer_class = TagSerializer
    permission_classes = [IsAdminOrReadOnly]
    queryset = Tag.objects.order_by("name")

