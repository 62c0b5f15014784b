"""What the provider and the customer say: status callbacks, replies, and whether a number has a send pending."""
from __future__ import annotations



from django.db import transaction
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.interactions.models import Interaction, Message
from apps.interactions.services import in_batch, read_once_per_batch
from apps.providers.types import DeliveryStatus, StatusUpdate

from ..selectors import DONE
from ..models import CampaignRecipient
from .common import LIVE, RANK, REPLY_WITHIN
from .progress import publish_progress


def recipient_status_apply(*, account: WhatsAppAccount, update: StatusUpdate) -> bool:
    """A status callback for a campaign send (a hook of the interactions' status handler)."""
    if not update.provider_message_id:
        return False
    with transaction.atomic():
        recipient = (
            CampaignRecipient.objects.select_for_update(of=("self",))
            .select_related("campaign__account")
            .filter(campaign__account=account, provider_message_id=update.provider_message_id)
            .first()
        )
        if recipient is None:
            return False
        new = update.status.value
        current = recipient.status
        if new == DeliveryStatus.FAILED.value:
            advance = current == CampaignRecipient.Status.SENT
        else:
            advance = current in RANK and RANK.get(new, 0) > RANK[current]
        if advance:
            recipient.status = new
            fields = ["status", "updated_at"]
            if new == DeliveryStatus.FAILED.value:
                recipient.error_code = update.error_code
                recipient.error_message = update.error_message or "The provider could not deliver this message."
                fields += ["error_code", "error_message"]
            recipient.save(update_fields=fields)
            publish_progress(recipient.campaign)
    return True


def recipient_reply_link(*, interaction: Interaction) -> None:
    """The customer answered a campaign: their new interaction is the campaign's (a hook of inbound)."""
    if not interaction.customer_phone:
        return
    now = timezone.now()
    # In a batch of webhooks, one cheap look per account first: most batches of new customers come
    # to an account with no campaign send awaiting a reply, and this lookup was a seventh of a first
    # message's CPU (issue 11). Outside a batch the lookup below is all.
    if in_batch() and not read_once_per_batch(
        ("campaign-replies", interaction.account_id),
        lambda: CampaignRecipient.objects.filter(
            campaign__account_id=interaction.account_id,
            status__in=DONE,
            interaction__isnull=True,
            sent_at__gte=now - REPLY_WITHIN,
        ).exists(),
    ):
        return
    recipient = (
        CampaignRecipient.objects.select_for_update(of=("self",))
        .select_related("campaign__template", "campaign__account")
        .filter(
            campaign__account=interaction.account,
            phone=interaction.customer_phone,
            status__in=DONE,
            interaction__isnull=True,
            sent_at__gte=now - REPLY_WITHIN,
        )
        .order_by("-sent_at")
        .first()
    )
    if recipient is None:
        return
    template = recipient.campaign.template
    # The template the customer answers shows in the timeline, so the agent knows what they reply to.
    message = Message.objects.create(
        interaction=interaction,
        account=interaction.account,
        direction=Message.Direction.OUT,
        kind="template",
        text=template.render(recipient.params),
        template=template,
        template_params=list(recipient.params),
        provider_message_id=recipient.provider_message_id,
        status=recipient.status,
        created_at=recipient.sent_at or now,
    )
    recipient.interaction = interaction
    recipient.message = message
    recipient.replied_at = now
    recipient.save(update_fields=["interaction", "message", "replied_at", "updated_at"])
    interaction.origin = Interaction.Origin.CAMPAIGN
    interaction.save(update_fields=["origin"])
    publish_progress(recipient.campaign)


def campaign_pending_for(*, account: WhatsAppAccount, phone: str) -> bool:
    """D8: whether a campaign message to this number is still waiting to be sent."""
    return CampaignRecipient.objects.filter(
        campaign__account=account, campaign__status__in=LIVE, phone=phone, status=CampaignRecipient.Status.PENDING
    ).exists()
