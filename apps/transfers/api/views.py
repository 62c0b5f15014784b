"""Transfers over REST. Reads here; ``accept``/``decline`` are added as ``@action``s calling the
transfer services."""
from __future__ import annotations

from django.db.models import Q
from rest_framework import mixins, viewsets

from apps.core.api_views import CodedErrorsMixin
from apps.interactions.selectors import interaction_list_for
from apps.transfers.models import Transfer

from .serializers import TransferSerializer


class TransferViewSet(
    CodedErrorsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Transfers of interactions the caller may see, plus those offered to the caller."""

    serializer_class = TransferSerializer
    filterset_fields = ["interaction", "status", "from_agent", "to_agent", "to_queue"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transfer.objects.none()
        user = self.request.user
        visible = interaction_list_for(user).values("pk")
        offered = Transfer.offered_to.through.objects.filter(user=user).values("transfer_id")
        return (
            Transfer.objects.filter(Q(interaction__in=visible) | Q(to_agent=user) | Q(pk__in=offered))
            .select_related("from_agent", "to_agent", "to_queue", "accepted_by")
            .order_by("-created_at", "-id")
        )
