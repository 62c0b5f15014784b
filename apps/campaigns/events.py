"""Realtime events of campaigns: plain JSON dicts (STYLE "Transactions, locks and events")."""
from __future__ import annotations

from typing import Any

from .api.serializers import CampaignSerializer


def campaign_progress(campaign) -> dict[str, Any]:
    """``campaign.progress``: the campaign object as the REST API shows it (CONTRACT.md "Websocket")."""
    return {"type": "campaign.progress", "data": {"campaign": CampaignSerializer(campaign).data}}
