from __future__ import annotations

from django.db.models import ProtectedError, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action

from apps.core.api_views import IsAdminOrReadOnly
from apps.core.exceptions import Conflict
from apps.queues.models import Queue

from .serializers import CannedAnswerSerializer, QueueSerializer


class QueueViewSet(viewsets.ModelViewSet):
    """Queues (B2) with their agents, dispositions and canned answers; admins write."""

    serializer_class = QueueSerializer
    permission_classes = [IsAdminOrReadOnly]
    queryset = Queue.objects.prefetch_related("agents", "dispositions", "canned_answers").order_by("name")
    filterset_fields = ["agents"]

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError as exc:
            raise Conflict("queue_in_use", "Accounts or interactions still use this queue.") from exc

    @extend_schema(
        parameters=[OpenApiParameter("search", str, description="Words in the title or the text.")],
        responses=CannedAnswerSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="canned_answers", serializer_class=CannedAnswerSerializer)
    def canned_answers(self, request, pk=None):
        queue = self.get_object()
        answers = queue.canned_answers.all()
        search = (request.query_params.get("search") or "").strip()
        if search:
            answers = answers.filter(Q(title__icontains=search) | Q(text__icontains=search))
        page = self.paginate_queryset(answers)
        return self.get_paginated_response(CannedAnswerSerializer(page, many=True).data)
