"""A campaign's sends: one pump per campaign, in slices, each step a batch marked before the provider call.

The pump is one durable work row per campaign (``campaigns.send``, key ``campaign-send:<id>``), so
at most one runner sends a campaign at a time. Each run is a slice of ``SLICE_SECONDS``; it returns
"again now" to the runner, which claims the row afresh (a new lease) for the next slice. Every
``STEP_SECONDS`` the slice takes the tokens the shared bucket grants, marks that many recipients
(``send_started_at``) in one transaction, sends them side by side through one pooled HTTP transport,
and records the answers in one UPDATE. So the cost per send is a fraction of a query, and a
campaign reaches hundreds of messages a second from a single worker process.

A runner killed mid-step leaves marked recipients without a provider id. They may have reached the
customer, so they are never sent again: once the pump's lease has surely run out, the next slice
fails them as ``interrupted``.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from apps.core.work import backoff_delay
from apps.providers.types import ProviderError, TemplateMessage

from ..models import Campaign, CampaignRecipient
from .common import AMBIGUOUS_CODES, MAX_SEND_ATTEMPTS, PUMP_LEASE_SECONDS, RATE_LIMIT_CODES
from .progress import publish_progress
from .rate import slow_down, take_tokens

# One slice of sending per claim of the pump's row; a step is how often the bucket is asked, so a
# pause is seen within a step and the rate holds to a twentieth of a second.
SLICE_SECONDS = 1.0
STEP_SECONDS = 0.05
# Sends in flight at once per process. Each waits on the network, so the rate a pump can reach is
# about this many divided by the provider's answer time (16 at 150 ms: ~100/s, above Meta's default
# 80/s). More threads cost more CPU per send in lock contention (measured: 0.74 ms at 16, 1.2 ms
# at 32); a campaign at hundreds a second to a distant provider needs the setting raised.
PARALLEL_SENDS = settings.INSTANT_CAMPAIGN_PARALLEL_SENDS
MAX_BATCH = 1000

P = CampaignRecipient.Status


@dataclass
class _Outcome:
    recipient: CampaignRecipient
    message_id: str = ""
    error: ProviderError | None = None


def pump(*, campaign_id: int) -> float | None:
    """Send one slice of a campaign; returns the seconds until the next slice, or None when it is over."""
    deadline = time.monotonic() + SLICE_SECONDS
    _fail_interrupted(campaign_id)
    while True:
        step_ends = time.monotonic() + STEP_SECONDS
        # Read afresh every step: a pause, a new rate or a throttle applies within a step.
        campaign = Campaign.objects.select_related("account", "template").filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Campaign.Status.RUNNING:
            return None  # paused or cancelled: resume asks for the pump again
        # As many as the bucket grants: it caps a step at a quarter of a second of the rate.
        granted, wait = take_tokens(campaign, MAX_BATCH, timezone.now())
        if granted:
            batch = _mark(campaign, granted)
            if not batch:
                return _finish_or_wait(campaign)
            again = _send_batch(campaign, batch)
            if again is not None:
                return again
        now = time.monotonic()
        if now >= deadline:
            return 0.0
        time.sleep(max(0.0, min(deadline, max(step_ends, now + wait)) - now))


def _mark(campaign: Campaign, count: int) -> list[CampaignRecipient]:
    """Claim the next ``count`` recipients: marked before any provider call, in their own transaction."""
    now = timezone.now()
    with transaction.atomic():
        candidates = campaign.recipients.filter(status=P.PENDING, send_started_at__isnull=True)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        picked = list(candidates.order_by("pk").values_list("pk", flat=True)[:count])
        if not picked:
            return []
        CampaignRecipient.objects.filter(pk__in=picked, status=P.PENDING, send_started_at__isnull=True).update(
            send_started_at=now, attempts=F("attempts") + 1
        )
    return list(CampaignRecipient.objects.filter(pk__in=picked, send_started_at=now).only("pk", "phone", "params", "attempts"))


def _finish_or_wait(campaign: Campaign) -> float | None:
    """Nothing left to mark: complete the campaign, or wait for sends still in flight elsewhere."""
    if campaign.recipients.filter(status=P.PENDING).exists():
        # Marked by a runner that died: they are failed once its lease has surely run out.
        return PUMP_LEASE_SECONDS
    now = timezone.now()
    with transaction.atomic():
        done = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.RUNNING).update(
            status=Campaign.Status.COMPLETED, finished_at=now
        )
        if done:
            campaign.status, campaign.finished_at = Campaign.Status.COMPLETED, now
            publish_progress(campaign, force=True)
    return None


def _send_batch(campaign: Campaign, batch: list[CampaignRecipient]) -> float | None:
    """Send a marked batch side by side and record it; returns a delay when the provider pushed back."""
    template = campaign.template
    account = campaign.account
    # The Sandbox without an api_base_url talks to its in-app cloud through its own transport (in
    # tests, the cloud's view in this process): one send at a time, in this thread.
    in_app = account.provider == "sandbox" and not account.api_base_url
    backend = account.backend() if in_app else account.backend(transport=_transport())

    def send(recipient: CampaignRecipient) -> _Outcome:
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
            return _Outcome(recipient, error=exc)
        return _Outcome(recipient, message_id=result.provider_message_id)

    outcomes = [send(r) for r in batch] if in_app or len(batch) == 1 else list(_executor().map(send, batch))
    _record_sent(campaign, [o for o in outcomes if o.error is None])
    again = None
    for outcome in outcomes:
        if outcome.error is not None:
            again = _max_delay(again, _send_failed(outcome.recipient, campaign, outcome.error))
    return again


def _record_sent(campaign: Campaign, sent: list[_Outcome]) -> None:
    if not sent:
        return
    ids = Case(*[When(pk=o.recipient.pk, then=Value(o.message_id)) for o in sent])
    with transaction.atomic():
        CampaignRecipient.objects.filter(pk__in=[o.recipient.pk for o in sent], status=P.PENDING).update(
            status=P.SENT, provider_message_id=ids, sent_at=timezone.now(), error_code="", error_message=""
        )
        publish_progress(campaign)


def _max_delay(current: float | None, new: float | None) -> float | None:
    if new is None:
        return current
    return new if current is None else max(current, new)


def _send_failed(recipient: CampaignRecipient, campaign: Campaign, exc: ProviderError) -> float | None:
    """Record a refused send; returns how long the pump should wait before the next step, if at all."""
    code = str(exc.code)
    limited = code in RATE_LIMIT_CODES or exc.http_status == 429
    # Retried only when the provider surely did not take the message: it answered with an error, or
    # the connection was never made. A timeout, a connection broken mid-answer or an unreadable
    # answer may hide an accepted send, and a resend could then deliver it twice.
    answered = exc.http_status is not None and code not in AMBIGUOUS_CODES
    not_connected = isinstance(exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout))
    if limited or (not exc.permanent and (answered or not_connected) and recipient.attempts < MAX_SEND_ATTEMPTS):
        CampaignRecipient.objects.filter(pk=recipient.pk, status=P.PENDING).update(
            send_started_at=None, error_code=code[:64], error_message=f"Retrying: {exc.message}"[:2000]
        )
        if limited:
            slow_down(campaign)
            return max(float(exc.retry_after or 0), 1.0)
        return backoff_delay(recipient.attempts, exc.retry_after)
    doubt = "" if exc.permanent else " The provider may have taken it, so it is not sent again."
    _fail([recipient.pk], campaign, code, exc.message + doubt)
    return None


def _fail(recipient_ids: list[int], campaign: Campaign, code: str, message: str) -> None:
    with transaction.atomic():
        updated = CampaignRecipient.objects.filter(pk__in=recipient_ids, status=P.PENDING).update(
            status=P.FAILED, error_code=code[:64], error_message=message[:2000]
        )
        if updated:
            publish_progress(campaign)


def _fail_interrupted(campaign_id: int) -> None:
    """Recipients marked by a runner that died before it recorded the answer: never sent again."""
    older = timezone.now() - timedelta(seconds=PUMP_LEASE_SECONDS)
    stale = list(
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, status=P.PENDING, send_started_at__lt=older
        ).values_list("pk", flat=True)[:10_000]
    )
    if stale:
        campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
        _fail(stale, campaign, "interrupted", "The send was interrupted; it is not repeated, so it cannot arrive twice.")


class _SharedTransport(httpx.HTTPTransport):
    """One connection pool for every campaign send of this process: a new client per send would
    build a TLS context and open a connection each time, which alone caps a worker far below 80/s."""

    def close(self) -> None:  # each send's client closes its transport; the pool outlives them
        pass

    def __exit__(self, *exc_info) -> None:  # httpx.Client.__exit__ exits its transport
        pass


_lock = threading.Lock()
_shared_transport: _SharedTransport | None = None
_shared_executor: ThreadPoolExecutor | None = None


def _transport() -> _SharedTransport:
    global _shared_transport
    with _lock:
        if _shared_transport is None:
            _shared_transport = _SharedTransport(
                limits=httpx.Limits(max_connections=PARALLEL_SENDS * 2, max_keepalive_connections=PARALLEL_SENDS)
            )
        return _shared_transport


def _executor() -> ThreadPoolExecutor:
    """Threads for the network waits of a batch; they touch no database connection."""
    global _shared_executor
    with _lock:
        if _shared_executor is None:
            _shared_executor = ThreadPoolExecutor(max_workers=PARALLEL_SENDS, thread_name_prefix="campaign-send")
        return _shared_executor


def send_work(args: dict) -> float | None:
    return pump(campaign_id=args["campaign_id"])
