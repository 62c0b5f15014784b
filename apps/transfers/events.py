"""Realtime payloads of transfers: the transfer travels whole, shaped as in the REST API."""
from __future__ import annotations

from apps.core.masking import event_representation, mask_fields, masked_event
from apps.interactions.api.serializers import InteractionSerializer

from .api.serializers import TransferSerializer

# The customer's fields a transfer event carries beside the transfer object (B5 masks them).
_CUSTOMER_FIELDS = {"customer_phone": "phone", "customer_name": "name"}


def _mask(data: dict, level: str) -> dict:
    out = {**data, "transfer": mask_fields(data["transfer"], _CUSTOMER_FIELDS, level)}
    if isinstance(data.get("interaction"), dict):
        out["interaction"] = InteractionSerializer.mask_data(data["interaction"], level)
    return out


def _transfer(transfer) -> dict:
    data = event_representation(TransferSerializer, transfer)
    interaction = transfer.interaction
    data["customer_phone"] = interaction.customer_phone
    data["customer_name"] = interaction.customer_name
    return data


def transfer_event(kind: str, transfer, **extra) -> dict:
    """``transfer.offered|accepted|declined|expired|cancelled|taken`` with ``data.transfer``."""
    return masked_event(f"transfer.{kind}", {"transfer": _transfer(transfer), **extra}, _mask)
