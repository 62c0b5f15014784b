"""Recipients: the contact list becomes rows in resumable batches, fed to the runner a little ahead of the rate."""
from __future__ import annotations

from datetime import datetime


from django.db import transaction
from django.utils import timezone

from apps.contacts.models import Contact
from apps.core import work
from apps.core.phones import normalize_phone
from apps.interactions.models import Interaction
from apps.interactions.services import OPEN_STATES
from apps.templates.models import contact_field_value

from ..models import Campaign, CampaignRecipient
from .common import BATCH, PREPARE_WORK, SEND_WORK
from .progress import publish_progress


def _start(campaign: Campaign, now: datetime) -> None:
    campaign.status = Campaign.Status.RUNNING
    campaign.started_at = campaign.started_at or now
    campaign.save(update_fields=["status", "started_at"])
    work.enqueue(PREPARE_WORK, key=f"campaign-prepare:{campaign.pk}", args={"campaign_id": campaign.pk})


def prepare_recipients(*, campaign_id: int) -> int:
    """Turn the contact list into recipient rows, batch after batch; returns how many rows it stored."""
    stored = 0
    while True:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().select_related("account", "template").get(pk=campaign_id)
            if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.COMPLETED) or campaign.prepared:
                break
            contacts = list(
                Contact.objects.filter(contact_list_id=campaign.contact_list_id, pk__gt=campaign.prepared_up_to)
                .order_by("pk")
                .only("pk", "phone", "first_name", "last_name", "email", "company", "custom_fields")[:BATCH]
            )
            if not contacts:
                campaign.prepared = True
                campaign.save(update_fields=["prepared"])
                ask_for_pump(campaign)
                break
            stored += _store_batch(campaign, contacts)
            campaign.prepared_up_to = contacts[-1].pk
            campaign.save(update_fields=["prepared_up_to"])
    return stored


def _store_batch(campaign: Campaign, contacts: list[Contact]) -> int:
    mapping = list(campaign.params or [])
    rows: list[CampaignRecipient] = []
    phones: dict[Contact, str] = {}
    for contact in contacts:
        try:
            phones[contact] = normalize_phone(contact.phone or "", international=True)
        except ValueError:
            phones[contact] = ""
    wanted = {p for p in phones.values() if p}
    taken = set(
        campaign.recipients.filter(phone__in=wanted).exclude(status=CampaignRecipient.Status.SKIPPED).values_list("phone", flat=True)
    )
    busy = set(
        Interaction.objects.filter(account=campaign.account, customer_key__in=wanted, status__in=OPEN_STATES)
        .values_list("customer_key", flat=True)
    )
    for contact in contacts:
        phone = phones[contact]
        row = CampaignRecipient(campaign=campaign, contact=contact, phone=phone)
        if not phone:
            _skip(row, "invalid_phone", f"{contact.phone!r} is not a possible phone number.")
        elif phone in taken:
            _skip(row, "duplicate", "The number is already a recipient of this campaign.")
        elif phone in busy:
            _skip(row, "open_interaction", "The customer has an open interaction on this account.")
        else:
            row.params = [contact_field_value(contact, spec) for spec in mapping]
            empty = [n for n, value in enumerate(row.params, start=1) if not value.strip()]
            if empty:
                _skip(row, "missing_param", f"The contact has no value for {{{{{empty[0]}}}}}.")
            else:
                taken.add(phone)
        rows.append(row)
    CampaignRecipient.objects.bulk_create(rows)
    return len(rows)


def _skip(row: CampaignRecipient, code: str, message: str) -> None:
    row.status = CampaignRecipient.Status.SKIPPED
    row.error_code = code
    row.error_message = message


def ask_for_pump(campaign: Campaign) -> None:
    """Ask for the campaign's pump (inside a transaction); asking twice is harmless (one row per campaign)."""
    if campaign.status == Campaign.Status.RUNNING and campaign.prepared:
        work.enqueue(SEND_WORK, key=f"campaign-send:{campaign.pk}", args={"campaign_id": campaign.pk})


def campaigns_sweep(*, now: datetime | None = None) -> int:
    """Start what is scheduled, make sure running campaigns have their pump, and publish their progress."""
    now = now or timezone.now()
    count = 0
    for pk in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().select_related("account").get(pk=pk)
            if campaign.status == Campaign.Status.SCHEDULED:
                _start(campaign, now)
                count += 1
    for pk in Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list("pk", flat=True):
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().select_related("account").get(pk=pk)
            ask_for_pump(campaign)
            publish_progress(campaign, force=True)
    return count


def prepare_work(args: dict) -> None:
    prepare_recipients(campaign_id=args["campaign_id"])
