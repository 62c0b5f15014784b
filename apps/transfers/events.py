"""Realtime payloads of transfers: the transfer travels whole, shaped as in the REST API."""
from __future__ import annotations

from .api.serializers import TransferSerializer


def _transfer(transfer) -> dict:
    data = dict(TransferSerializer(transfer, context={"request": None}).data)
    interaction = transfer.interaction
    data["customer_phone"] = interaction.customer_phone
    data["customer_name"] = interaction.customer_name
    return data


def transfer_event(kind: str, transfer, **extra) -> dict:
    """``transfer.offered|accepted|declined|expired|cancelled|taken`` with ``data.transfer``."""
    return {"type": f"transfer.{kind}", "data": {"transfer": _transfer(transfer), **extra}}
