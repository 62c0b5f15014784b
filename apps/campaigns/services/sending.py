"""One recipient's send: marked before the provider call, so a killed worker never causes a second copy."""
from __future__ import annotations

import threading

import httpx

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.providers.types import ProviderError, TemplateMessage

from ..models import Campaign, CampaignRecipient
from .common import AMBIGUOUS_CODES, MAX_SEND_ATTEMPTS, NoToken, RATE_LIMIT_CODES
from .progress import publish_progress
from .rate import slow_down, take_token


def recipient_send(*, recipient_id: int) -> str:
    """Send one recipient's template, at most once; returns what happened (for tests and the bench)."""
    recipient = (
        CampaignRecipient.objects.select_related("campaign__account", "campaign__template")
        .filter(pk=recipient_id)
        .first()
    )
    if recipient is None or recipient.status != CampaignRecipient.Status.PENDING:
        return "done"
    campaign = recipient.campaign
    if recipient.send_started_at is not None:
        _fail(recipient.pk, "interrupted", "The send was interrupted; it is not repeated, so it cannot arrive twice.")
        return "interrupted"
    if campaign.status != Campaign.Status.RUNNING:
        # Paused or cancelled: give the recipient back to the feed (resume asks for it again).
        CampaignRecipient.objects.filter(pk=recipient.pk, status=CampaignRecipient.Status.PENDING).update(queued=False)
        return "paused"
    now = timezone.now()
    wait = take_token(campaign, now)
    if wait > 0:
        raise NoToken(wait)
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING).exists():
            CampaignRecipient.objects.filter(pk=recipient.pk, status=CampaignRecipient.Status.PENDING).update(queued=False)
            return "paused"
        marked = CampaignRecipient.objects.filter(
            pk=recipient.pk, status=CampaignRecipient.Status.PENDING, send_started_at__isnull=True
        ).update(send_started_at=now, attempts=F("attempts") + 1)
    if not marked:
        return "done"
    template = campaign.template
    account = campaign.account
    # The Sandbox without an api_base_url talks to its in-app cloud through its own transport.
    backend = account.backend(transport=_transport()) if account.api_base_url or account.provider != "sandbox" else account.backend()
    try:
        result = backend.send_template(
            to=recipient.phone,
            template=TemplateMessage(
                name=template.name,
                language=template.language,
                body_params=list(recipient.params),
                provider_template_id=template.provider_template_id,
                rendered_text=template.render(recipient.params),
            ),
        )
    except ProviderError as exc:
        return _send_failed(recipient, campaign, exc)
    _sent(recipient.pk, campaign, result.provider_message_id)
    return "sent"


class _SharedTransport(httpx.HTTPTransport):
    """One connection pool for every campaign send of this process: a new client per send would
    build a TLS context and open a connection each time, which alone caps a worker far below 80/s."""

    def close(self) -> None:  # each send's client closes its transport; the pool outlives them
        pass

    def __exit__(self, *exc_info) -> None:  # httpx.Client.__exit__ exits its transport
        pass


_transport_lock = threading.Lock()


_shared_transport: _SharedTransport | None = None


def _transport() -> _SharedTransport:
    global _shared_transport
    with _transport_lock:
        if _shared_transport is None:
            _shared_transport = _SharedTransport(limits=httpx.Limits(max_connections=100, max_keepalive_connections=50))
        return _shared_transport


def _sent(recipient_id: int, campaign: Campaign, provider_message_id: str) -> None:
    with transaction.atomic():
        CampaignRecipient.objects.filter(pk=recipient_id, status=CampaignRecipient.Status.PENDING).update(
            status=CampaignRecipient.Status.SENT,
            provider_message_id=provider_message_id,
            sent_at=timezone.now(),
            queued=False,
            error_code="",
            error_message="",
        )
        publish_progress(campaign)


def _send_failed(recipient: CampaignRecipient, campaign: Campaign, exc: ProviderError) -> str:
    code = str(exc.code)
    limited = code in RATE_LIMIT_CODES or exc.http_status == 429
    # Retried only when the provider surely did not take the message: it answered with an error, or
    # the connection was never made. A timeout, a connection broken mid-answer or an unreadable
    # answer may hide an accepted send, and a resend could then deliver it twice.
    answered = exc.http_status is not None and code not in AMBIGUOUS_CODES
    not_connected = isinstance(exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout))
    if limited or (not exc.permanent and (answered or not_connected) and recipient.attempts + 1 < MAX_SEND_ATTEMPTS):
        CampaignRecipient.objects.filter(pk=recipient.pk, status=CampaignRecipient.Status.PENDING).update(
            send_started_at=None, error_code=code, error_message=f"Retrying: {exc.message}"[:2000]
        )
        if limited:
            slow_down(campaign)
            raise NoToken(max(float(exc.retry_after or 0), 1.0))
        raise exc
    if not exc.permanent:
        _fail(recipient.pk, code, f"{exc.message} The provider may have taken it, so it is not sent again.")
        return "failed"
    _fail(recipient.pk, code, exc.message)
    return "failed"


def _fail(recipient_id: int, code: str, message: str) -> None:
    with transaction.atomic():
        updated = CampaignRecipient.objects.filter(pk=recipient_id, status=CampaignRecipient.Status.PENDING).update(
            status=CampaignRecipient.Status.FAILED, error_code=code[:64], error_message=message[:2000], queued=False
        )
        if updated:
            campaign = Campaign.objects.select_related("account").get(recipients__pk=recipient_id)
            publish_progress(campaign)


def send_work(args: dict) -> None:
    recipient_send(recipient_id=args["recipient_id"])


def send_work_failed(args: dict, exc: BaseException) -> None:
    _fail(args["recipient_id"], str(getattr(exc, "code", "") or "send_failed"), str(getattr(exc, "message", "") or exc))
