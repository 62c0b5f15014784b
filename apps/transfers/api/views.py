"""Transfers over REST. Reads here; ``accept``/``decline`` are added as ``@action``s calling the
transfer services."""
from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.interactions.selectors import interaction_list_for
from apps.transfers.models import Transfer
from apps.transfers.services import transfer_accept, transfer_cancel, transfer_decline

from .serializers import TransferSerializer


class TransferViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
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

    def _act(self, service, pk) -> Response:
        # The URL takes any text ("null,null" included); only a plain number can name a transfer.
        if not (str(pk).isascii() and str(pk).isdigit()):
            raise NotFound()
        transfer = service(transfer_id=int(pk), user=self.request.user)
        transfer.refresh_from_db()
        return Response(TransferSerializer(transfer, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        """Take the interaction. Across a queue the first accept wins; the others get 409 `already_taken`."""
        return self._act(transfer_accept, pk)

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def decline(self, request, pk=None):
        return self._act(transfer_decline, pk)

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, pk=None):
        """The agent who asked withdraws the transfer."""
        return self._act(transfer_cancel, pk)
