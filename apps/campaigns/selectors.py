"""Reads of campaigns: the funnel counters, who may see campaigns."""
from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Campaign, CampaignRecipient

S = CampaignRecipient.Status
# Meta's documented default throughput is 80 messages per second per number; Kaleyra forwards to
# Meta, so the same limit holds. The Sandbox is a demo: a gentle default.
DEFAULT_RATES = {"meta": 80, "kaleyra": 80, "sandbox": 20}
DONE = (S.SENT, S.DELIVERED, S.READ)


def _funnel() -> dict:
    return {
        "total": Count("id", filter=~Q(status=S.SKIPPED)),
        "pending": Count("id", filter=Q(status=S.PENDING)),
        "sent": Count("id", filter=Q(status__in=DONE)),
        "delivered": Count("id", filter=Q(status__in=(S.DELIVERED, S.READ))),
        "read": Count("id", filter=Q(status=S.READ)),
        "failed": Count("id", filter=Q(status=S.FAILED)),
        "skipped": Count("id", filter=Q(status=S.SKIPPED)),
        "replied": Count("id", filter=Q(replied_at__isnull=False)),
    }


EMPTY_FUNNEL = dict.fromkeys(_funnel(), 0)
COUNTERS_CACHE = "_counters_cache"  # where prefetch_counters leaves a campaign's funnel


def counters(campaign_id: int) -> dict[str, int]:
    """The funnel: ``sent`` counts every recipient the provider took, ``delivered`` includes read."""
    data = CampaignRecipient.objects.filter(campaign_id=campaign_id).aggregate(**_funnel())
    return {key: value or 0 for key, value in data.items()}


def counters_by_campaign(campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """The funnels of many campaigns in ONE grouped query (a list page costs the same for 1 or 50)."""
    if not campaign_ids:
        return {}
    rows = (
        CampaignRecipient.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(**_funnel())
        .order_by()  # no default ordering may sneak into the GROUP BY
    )
    found = {row.pop("campaign_id"): {k: v or 0 for k, v in row.items()} for row in rows}
    return {pk: found.get(pk, dict(EMPTY_FUNNEL)) for pk in campaign_ids}


def prefetch_counters(campaigns) -> list[Campaign]:
    """Attach each campaign's funnel (``campaign_counters`` reads it) for a page of campaigns."""
    campaigns = list(campaigns)
    funnels = counters_by_campaign([c.pk for c in campaigns if c.pk])
    for campaign in campaigns:
        if campaign.pk:
            setattr(campaign, COUNTERS_CACHE, funnels[campaign.pk])
    return campaigns


def campaign_counters(campaign: Campaign) -> dict[str, int]:
    """The funnel of one campaign: prefetched with the page, or read now (and kept)."""
    cached = getattr(campaign, COUNTERS_CACHE, None)
    if cached is None:
        cached = counters(campaign.pk)
        setattr(campaign, COUNTERS_CACHE, cached)
    return cached


def campaign_list_for(user) -> QuerySet[Campaign]:
    """Admins and supervisors follow campaigns; agents do not see them."""
    qs = Campaign.objects.select_related("account", "template", "contact_list").order_by("-created_at", "-id")
    if user is None or not user.is_authenticated or not user.is_supervisor_or_admin:
        return qs.none()
    return qs


def rate_of(campaign: Campaign) -> float:
    rate = campaign.rate_per_second or DEFAULT_RATES.get(campaign.account.provider, 20)
    return max(0.1, float(rate))
