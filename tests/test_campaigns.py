"""Campaigns (B4) on durable work, against the fake provider: launch, pause, resume, cancel, never a
duplicate send, a killed worker, the refusals, throttling, status callbacks and replies."""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.campaigns import services
from apps.campaigns.models import Campaign, CampaignRecipient
from apps.campaigns.selectors import counters
from apps.core import work
from apps.core.models import InstallationSettings, Job
from apps.interactions.models import Interaction, Message
from tests.factories import ContactFactory, ContactListFactory, InteractionFactory, QueueFactory, TemplateFactory
from tests.webhooks import manifest, post_signed

pytestmark = pytest.mark.django_db

META = manifest("meta")
CREDS = META["credentials"]
SEND_PATH = rf"/{CREDS['api_version']}/{CREDS['phone_number_id']}/messages"


class Provider:
    """The fake Meta: answers sends with a wamid, can throttle, and counts sends per number."""

    def __init__(self, fake):
        self.fake = fake
        self.throttle_next = 0
        self.n = 0
        fake.route("POST", SEND_PATH, self.answer)

    def answer(self, request, match):
        body = request.json()
        assert body["type"] == "template" and body["template"]["name"] == "promo"
        if self.throttle_next:
            self.throttle_next -= 1
            return 400, {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}}
        self.n += 1
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                     "messages": [{"id": f"wamid.C{self.n}"}]}

    def sends(self) -> Counter:
        return Counter(
            r.json()["to"] for r in self.fake.requests if r.method == "POST" and r.path.endswith("/messages")
        )


@pytest.fixture
def provider(fake_provider):
    return Provider(fake_provider)


@pytest.fixture
def account(fake_provider):
    return WhatsAppAccount.objects.create(
        name="Meta line", provider="meta", phone_number=META["phone_number"], credentials=CREDS,
        api_base_url=fake_provider.url, queue=QueueFactory(),
    )


@pytest.fixture
def contact_list(db):
    contacts = ContactListFactory()
    for n in range(6):
        ContactFactory(contact_list=contacts, first_name=f"Ann{n}", phone=f"+1555300{n:04d}")
    return contacts


def make_campaign(account, contact_list, **extra) -> Campaign:
    template = extra.pop("template", None) or TemplateFactory(account=account, name="promo", body="Hi {{1}}, {{2}} off!")
    fields = {"name": "Spring", "account": account, "template": template, "contact_list": contact_list,
              "params": [{"field": "first_name"}, {"value": "20%"}], "rate_per_second": 1000}
    fields.update(extra)
    return services.campaign_create(**fields)


def drain(limit: int | None = None, hours: float = 1) -> int:
    """Run due campaign work as the runner would (the clock moved on), feeding as the sweep does."""
    ran = 0
    for _ in range(200):
        later = timezone.now() + timedelta(hours=hours)
        jobs = work.claim_due(now=later, limit=1 if limit is not None else 50)
        if not jobs:
            services.campaigns_sweep()
            if not Job.objects.filter(state="pending").exists():
                return ran
            continue
        for job in jobs:
            work.execute(job)
            ran += 1
            if limit is not None and ran >= limit:
                return ran
    return ran


def launch(campaign, on_commit):
    with on_commit():
        return services.campaign_launch(campaign_id=campaign.pk)


@pytest.fixture
def one_step(monkeypatch):
    """Each run of the pump is a single step (one batch), so a test sees a campaign half sent."""
    from apps.campaigns.services import sending

    monkeypatch.setattr(sending, "SLICE_SECONDS", 0)


def set_rate(campaign, rate: int) -> None:
    """The pump reads the rate afresh every step."""
    Campaign.objects.filter(pk=campaign.pk).update(rate_per_second=rate)


def test_a_campaign_sends_every_recipient_once_and_completes(account, contact_list, provider, on_commit):
    campaign = make_campaign(account, contact_list)
    launch(campaign, on_commit)
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 6
    drain()
    assert set(provider.sends().values()) == {1} and len(provider.sends()) == 6
    campaign.refresh_from_db()
    assert campaign.status == "completed" and campaign.finished_at
    first = CampaignRecipient.objects.filter(campaign=campaign).order_by("id").first()
    assert first.params == ["Ann0", "20%"] and first.status == "sent" and first.provider_message_id.startswith("wamid.C")
    body = next(r.json() for r in provider.fake.requests if r.json()["to"] == "15553000000")
    assert body["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Ann0"}, {"type": "text", "text": "20%"}]}]
    # The campaign's pump (key campaign-send:<id>) is gone once the campaign completed.
    assert not Job.objects.filter(kind=services.SEND_WORK).exists()


def test_invalid_numbers_duplicates_and_open_interactions_are_skipped_with_the_reason(account, contact_list, provider, on_commit):
    ContactFactory(contact_list=contact_list, phone="not a number")
    ContactFactory(contact_list=contact_list, phone="+1 555 300 0001")  # a duplicate once normalised
    InteractionFactory(account=account, customer_phone="+15553000002", status="open")
    campaign = make_campaign(account, contact_list)
    launch(campaign, on_commit)
    skipped = dict(CampaignRecipient.objects.filter(campaign=campaign, status="skipped").values_list("error_code", "phone"))
    assert skipped == {"invalid_phone": "", "duplicate": "+15553000001", "open_interaction": "+15553000002"}
    drain()
    assert len(provider.sends()) == 5 and set(provider.sends().values()) == {1}


def test_pause_stops_sending_and_resume_finishes_without_duplicates(account, contact_list, provider, on_commit, one_step):
    campaign = make_campaign(account, contact_list, rate_per_second=8)
    launch(campaign, on_commit)  # the pump's first step runs at once: the bucket's burst is 2
    before = len(provider.sends())
    assert 1 <= before < 6
    assert Job.objects.filter(kind=services.SEND_WORK, key=f"campaign-send:{campaign.pk}").exists()
    with on_commit():
        services.campaign_pause(campaign_id=campaign.pk)
    drain()  # the pump finds the pause at its next step and stops
    assert len(provider.sends()) == before
    assert not Job.objects.filter(kind=services.SEND_WORK).exists()
    assert CampaignRecipient.objects.filter(campaign=campaign, status="pending", send_started_at=None).count() == 6 - before
    with on_commit():
        services.campaign_update(campaign_id=campaign.pk, rate_per_second=1000)
        services.campaign_resume(campaign_id=campaign.pk)
    drain()
    assert len(provider.sends()) == 6 and set(provider.sends().values()) == {1}
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"


def test_cancel_skips_what_was_not_sent(account, contact_list, provider, on_commit, one_step):
    campaign = make_campaign(account, contact_list, rate_per_second=8)
    launch(campaign, on_commit)
    before = len(provider.sends())
    assert 1 <= before < 6
    with on_commit():
        services.campaign_cancel(campaign_id=campaign.pk)
    drain()
    assert len(provider.sends()) == before
    statuses = Counter(CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {"sent": before, "skipped": 6 - before}
    assert set(CampaignRecipient.objects.filter(status="skipped").values_list("error_code", flat=True)) == {"cancelled"}


def test_a_worker_killed_mid_send_never_sends_twice(account, contact_list, provider, on_commit, monkeypatch, one_step):
    from apps.campaigns.services import sending

    campaign = make_campaign(account, contact_list, rate_per_second=8)
    real_record = sending._record_sent

    def die(*args, **kwargs):
        raise KeyboardInterrupt("the worker was killed after the provider took the messages")

    monkeypatch.setattr(sending, "_record_sent", die)
    with pytest.raises(KeyboardInterrupt):
        launch(campaign, on_commit)
    monkeypatch.setattr(sending, "_record_sent", real_record)
    taken = len(provider.sends())
    assert taken >= 1
    # The killed pump's row is still running; its lease runs out and another runner claims it. The
    # recipients it had marked may have reached the customer: never sent again, failed instead.
    assert Job.objects.filter(state="running").count() == 1
    drain(hours=0)  # within the lease: no runner touches the killed pump's row
    assert len(provider.sends()) == taken
    CampaignRecipient.objects.exclude(send_started_at=None).update(
        send_started_at=timezone.now() - timedelta(seconds=services.PUMP_LEASE_SECONDS + 1)
    )
    set_rate(campaign, 1000)
    drain(hours=2)
    assert len(provider.sends()) == 6 and set(provider.sends().values()) == {1}
    interrupted = CampaignRecipient.objects.filter(campaign=campaign, status="failed")
    assert interrupted.count() == taken and {r.error_code for r in interrupted} == {"interrupted"}
    assert Campaign.objects.get(pk=campaign.pk).status == "completed"


def test_a_parameter_count_mismatch_is_refused_before_anything_is_sent(account, contact_list, provider, on_commit):
    campaign = make_campaign(account, contact_list, params=[{"field": "first_name"}])
    with pytest.raises(Exception) as caught:
        launch(campaign, on_commit)
    assert caught.value.code == "wrong_param_count"
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert not CampaignRecipient.objects.exists() and not provider.fake.requests


@pytest.mark.parametrize(
    "setup, code",
    [
        ("plan", "plan_inbound_only"),
        ("twilio", "provider_unsupported"),
        ("template", "template_not_approved"),
        ("state", "bad_state"),
    ],
)
def test_launch_refusals_carry_the_contract_codes(account, contact_list, provider, on_commit, setup, code):
    campaign = make_campaign(account, contact_list)
    if setup == "plan":
        InstallationSettings.objects.update_or_create(pk=InstallationSettings.load().pk, defaults={"license_plan": "inbound"})
    elif setup == "twilio":
        twilio = WhatsAppAccount.objects.create(
            name="Twilio", provider="twilio", phone_number="+15550002222",
            credentials=manifest("twilio")["credentials"], queue=account.queue,
        )
        Campaign.objects.filter(pk=campaign.pk).update(account=twilio)
    elif setup == "template":
        campaign.template.status = "paused"
        campaign.template.save()
    elif setup == "state":
        Campaign.objects.filter(pk=campaign.pk).update(status="completed")
    with pytest.raises(Exception) as caught:
        launch(campaign, on_commit)
    assert caught.value.code == code and caught.value.status == 409
    assert not provider.fake.requests


def test_a_130429_slows_the_campaign_and_the_send_is_retried_once(account, contact_list, provider, on_commit):
    provider.throttle_next = 1
    campaign = make_campaign(account, contact_list)
    launch(campaign, on_commit)
    drain()
    campaign.refresh_from_db()
    assert campaign.throttle == 0.5 and campaign.throttled_at is not None
    assert len(provider.sends()) == 6
    # Seven requests: the throttled one was asked again; six messages taken, one per number.
    assert sum(provider.sends().values()) == 7
    accepted = CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
    assert accepted == 6 and provider.n == 6


def test_the_database_bucket_holds_the_rate(db):
    from apps.campaigns.services import rate

    granted, wait = rate._db_take("test:bucket", 10.0, 1.0, 50)
    assert granted == 1 and wait == 0  # a full bucket: its burst
    granted, wait = rate._db_take("test:bucket", 10.0, 1.0, 50)
    assert granted == 0 and 0 < wait <= 0.1


def test_the_redis_bucket_holds_the_rate():
    import os
    import uuid

    from apps.campaigns.services import rate
    from tests import processes

    if not os.environ.get("REDIS_URL"):
        processes.unavailable("needs Redis (set REDIS_URL)")
    key = f"test:{uuid.uuid4().hex}"
    granted, wait = rate._redis_take(key, 100.0, 10.0, 50)
    assert granted == 10 and wait == 0
    granted, wait = rate._redis_take(key, 100.0, 10.0, 50)
    assert granted <= 1  # at most the token refilled in the instant between the two calls
    if not granted:
        assert 0 < wait <= 0.01


def test_a_campaign_keeps_to_its_rate_in_steps(account, contact_list, provider, on_commit, one_step, settings):
    settings.REDIS_URL = None  # the database bucket: a fresh row per campaign
    campaign = make_campaign(account, contact_list, rate_per_second=8)
    launch(campaign, on_commit)
    # One step of an 8/s campaign sends at most a quarter of a second's worth: two messages.
    assert len(provider.sends()) == 2


def test_status_callbacks_move_recipients_and_replies_link_the_interaction(client, account, contact_list, provider, on_commit):
    campaign = make_campaign(account, contact_list)
    launch(campaign, on_commit)
    drain()
    recipient = CampaignRecipient.objects.get(campaign=campaign, phone="+15553000000")
    wamid = recipient.provider_message_id

    def meta_post(value):
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": CREDS["waba_id"], "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp",
                                            "metadata": {"display_phone_number": "15550001111", "phone_number_id": CREDS["phone_number_id"]},
                                            **value}}]}]}).encode()
        with on_commit():
            assert post_signed(client, account, body, content_type="application/json").status_code == 200

    stamp = str(int(timezone.now().timestamp()) + 5)
    meta_post({"statuses": [{"id": wamid, "status": "delivered", "timestamp": stamp, "recipient_id": "15553000000"}]})
    recipient.refresh_from_db()
    assert recipient.status == "delivered"
    meta_post({"contacts": [{"profile": {"name": "Ann"}, "wa_id": "15553000000"}],
               "messages": [{"from": "15553000000", "id": "wamid.REPLY1", "timestamp": stamp, "type": "text", "text": {"body": "Yes please"}}]})
    recipient.refresh_from_db()
    interaction = Interaction.objects.get(customer_phone="+15553000000")
    assert recipient.interaction == interaction and recipient.replied_at
    assert interaction.origin == "campaign" and interaction.queue == account.queue and interaction.status == "waiting"
    kinds = list(interaction.messages.order_by("created_at", "id").values_list("direction", "kind"))
    assert kinds == [("out", "template"), ("in", "text")]
    # A later read status reaches both the recipient and the timeline's copy of the template.
    meta_post({"statuses": [{"id": wamid, "status": "read", "timestamp": stamp, "recipient_id": "15553000000"}]})
    recipient.refresh_from_db()
    assert recipient.status == "read"
    assert Message.objects.get(provider_message_id=wamid).status == "read"
    assert counters(campaign.pk) == {
        "total": 6, "pending": 0, "sent": 6, "delivered": 1, "read": 1, "failed": 0, "skipped": 0, "replied": 1,
    }


def test_a_pending_campaign_message_blocks_an_agent_start(account, contact_list, provider, on_commit, one_step):
    from apps.interactions.services.outbound import _campaign_pending

    campaign = make_campaign(account, contact_list, rate_per_second=8)
    launch(campaign, on_commit)
    assert _campaign_pending(account, "+15553000003") is True
    set_rate(campaign, 1000)
    drain()
    assert _campaign_pending(account, "+15553000003") is False


def test_progress_is_published_to_admins_and_supervisors(account, contact_list, provider, django_capture_on_commit_callbacks, monkeypatch):
    from apps.core import realtime

    sent = []
    monkeypatch.setattr(realtime, "deliver", lambda items: sent.extend(items))
    with django_capture_on_commit_callbacks(execute=True):
        campaign = make_campaign(account, contact_list)
    groups, event = sent[-1]
    assert groups == [realtime.SUPERVISORS_GROUP] and event["type"] == "campaign.progress"
    assert event["data"]["campaign"]["id"] == campaign.pk and event["data"]["campaign"]["status"] == "draft"
    assert json.loads(json.dumps(event)) == event



def test_replies_processed_in_one_batch_link_only_the_campaigns_customer(
    client, account, contact_list, provider, on_commit, held_wakeups
):
    campaign = make_campaign(account, contact_list)
    launch(campaign, on_commit)
    drain()
    stamp = str(int(timezone.now().timestamp()) + 5)
    # Two new customers write in; the webhooks wait, then one claim runs them as a batch.
    for n, number in enumerate(("15553000001", "15559990000")):
        body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": CREDS["waba_id"], "changes": [
            {"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": CREDS["phone_number_id"]},
                "contacts": [{"profile": {"name": f"C{n}"}, "wa_id": number}],
                "messages": [{"from": number, "id": f"wamid.BATCH{n}", "timestamp": stamp, "type": "text",
                              "text": {"body": "hi"}}]}}]}]}).encode()
        assert post_signed(client, account, body, content_type="application/json").status_code == 200
    assert work.run_due() == 2
    replied = Interaction.objects.get(customer_phone="+15553000001")
    stranger = Interaction.objects.get(customer_phone="+15559990000")
    assert CampaignRecipient.objects.get(campaign=campaign, phone="+15553000001").interaction == replied
    assert replied.origin == "campaign" and stranger.origin == "inbound"
    assert list(replied.messages.order_by("created_at", "id").values_list("direction", flat=True)) == ["out", "in"]
