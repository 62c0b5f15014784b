"""A campaign's life, as the admin drives it: create, update, launch (with its refusals), pause, resume, cancel."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core.exceptions import Conflict, Invalid
from apps.core.models import InstallationSettings
from apps.templates.models import Template
from apps.templates.services import params_mapping_check

from ..models import Campaign, CampaignRecipient
from .common import CAMPAIGN_PROVIDERS
from .progress import publish_progress
from .recipients import _start, ask_for_pump


_EDITABLE = ("name", "account", "template", "contact_list", "params", "scheduled_at", "rate_per_second")


def campaign_create(*, user=None, **fields) -> Campaign:
    """A draft may hold anything: the refusals come at launch (CONTRACT.md)."""
    campaign = Campaign(created_by=user, **{k: v for k, v in fields.items() if k in _EDITABLE})
    with transaction.atomic(durable=True):
        campaign.save()
        publish_progress(campaign, force=True)
    return campaign


def campaign_update(*, campaign_id: int, **fields) -> Campaign:
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED, Campaign.Status.PAUSED):
            raise Conflict("bad_state", f"A {campaign.status} campaign cannot be changed.")
        if campaign.status != Campaign.Status.DRAFT and set(fields) - {"name", "rate_per_second", "scheduled_at"}:
            raise Conflict("bad_state", "Once launched, only the name, the rate and the start time can change.")
        for name, value in fields.items():
            if name in _EDITABLE:
                setattr(campaign, name, value)
        campaign.save()
        publish_progress(campaign, force=True)
        return campaign


def campaign_launch(*, campaign_id: int, user=None) -> Campaign:
    """Start a campaign now, or at ``scheduled_at``; the contract's refusals come here, not at save."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().select_related("account", "template").get(pk=campaign_id)
        if campaign.status != Campaign.Status.DRAFT:
            raise Conflict("bad_state", f"Only a draft campaign can be launched; this one is {campaign.status}.")
        launch_check(campaign)
        if campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
            campaign.save(update_fields=["status"])
        else:
            _start(campaign, now)
        publish_progress(campaign, force=True)
        return campaign


def launch_check(campaign: Campaign) -> None:
    if InstallationSettings.load().license_plan != InstallationSettings.LicensePlan.INBOUND_OUTBOUND:
        raise Conflict("plan_inbound_only", "Campaigns need the inbound & outbound plan.")
    account = campaign.account
    if account.provider not in CAMPAIGN_PROVIDERS or not account.backend().supports_campaigns:
        raise Conflict(
            "provider_unsupported", "Campaigns run on Meta and Kaleyra accounts only (and the Sandbox for demos)."
        )
    template = campaign.template
    if template.account_id != account.pk:
        raise Invalid("template_account", "The template belongs to another account.")
    if template.status != Template.Status.APPROVED:
        raise Conflict("template_not_approved", f"The template {template.name!r} is {template.status}, not approved.")
    params_mapping_check(template, list(campaign.params or []))


def campaign_pause(*, campaign_id: int) -> Campaign:
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().select_related("account").get(pk=campaign_id)
        if campaign.status not in (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED):
            raise Conflict("bad_state", f"Only a running or scheduled campaign can be paused; this one is {campaign.status}.")
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status"])
        publish_progress(campaign, force=True)
        return campaign


def campaign_resume(*, campaign_id: int) -> Campaign:
    now = timezone.now()
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().select_related("account", "template").get(pk=campaign_id)
        if campaign.status != Campaign.Status.PAUSED:
            raise Conflict("bad_state", f"Only a paused campaign can be resumed; this one is {campaign.status}.")
        launch_check(campaign)  # the plan or the template may have changed while it waited
        if campaign.started_at is None and campaign.scheduled_at and campaign.scheduled_at > now:
            campaign.status = Campaign.Status.SCHEDULED
            campaign.save(update_fields=["status"])
        else:
            _start(campaign, now)
            ask_for_pump(campaign)
        publish_progress(campaign, force=True)
        return campaign


def campaign_cancel(*, campaign_id: int) -> Campaign:
    """Stop for good: recipients not yet handed to the provider are skipped as cancelled."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        campaign = Campaign.objects.select_for_update().select_related("account").get(pk=campaign_id)
        if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
            raise Conflict("bad_state", f"The campaign is already {campaign.status}.")
        campaign.status = Campaign.Status.CANCELLED
        campaign.finished_at = now
        campaign.save(update_fields=["status", "finished_at"])
        campaign.recipients.filter(status=CampaignRecipient.Status.PENDING, send_started_at__isnull=True).update(
            status=CampaignRecipient.Status.SKIPPED, error_code="cancelled", error_message="The campaign was cancelled."
        )
        publish_progress(campaign, force=True)
        return campaign
