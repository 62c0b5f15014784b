"""Live progress (``campaign.progress``), at most once a second per campaign."""
from __future__ import annotations



from django.db.models import Q
from django.utils import timezone

from apps.core.audience import publish_event

from .. import events
from ..models import Campaign
from .common import PROGRESS_EVERY


def publish_progress(campaign: Campaign, *, force: bool = False) -> None:
    """``campaign.progress`` to admins and supervisors, at most once a second unless ``force``."""
    now = timezone.now()
    if not force:
        won = Campaign.objects.filter(pk=campaign.pk).filter(
            Q(progress_at__isnull=True) | Q(progress_at__lte=now - PROGRESS_EVERY)
        ).update(progress_at=now)
        if not won:
            return
    campaign = Campaign.objects.select_related("account", "template", "contact_list").get(pk=campaign.pk)
    publish_event(events.campaign_progress(campaign))
