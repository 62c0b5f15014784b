"""Reads of campaigns: the funnel counters, who may see campaigns."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Campaign, CampaignRecipient

S = CampaignRecipient.Status
# Meta's documented default throughput is 80 messages per second per number; Kaleyra forwards to
# Meta, so the same limit holds. The Sandbox is a demo: a gentle default.
DEFAULT_RATES = {"meta": 80, "kaleyra": 80, "sandbox": 20}
DONE = (S.SENT, S.DELIVERED, S.READ)


def counters(campaign_id: int) -> dict[str, int]:
    """The funnel: ``sent`` counts every recipient the provider took, ``delivered`` includes read."""
    data = CampaignRecipient.objects.filter(campaign_id=campaign_id).aggregate(
        total=Count("id", filter=~Q(status=S.SKIPPED)),
        pending=Count("id", filter=Q(status=S.PENDING)),
        sent=Count("id", filter=Q(status__in=DONE)),
        delivered=Count("id", filter=Q(status__in=(S.DELIVERED, S.READ))),
        read=Count("id", filter=Q(status=S.READ)),
        failed=Count("id", filter=Q(status=S.FAILED)),
        skipped=Count("id", filter=Q(status=S.SKIPPED)),
        replied=Count("id", filter=Q(replied_at__isnull=False)),
    )
    return {key: value or 0 for key, value in data.items()}


def campaign_list_for(user) -> QuerySet[Campaign]:
    """Admins and supervisors follow campaigns; agents do not see them."""
    qs = Campaign.objects.select_related("account", "template", "contact_list").order_by("-created_at", "-id")
    if user is None or not user.is_authenticated or not user.is_supervisor_or_admin:
        return qs.none()
    return qs


def rate_of(campaign: Campaign) -> float:
    rate = campaign.rate_per_second or DEFAULT_RATES.get(campaign.account.provider, 20)
    return max(0.1, float(rate))
