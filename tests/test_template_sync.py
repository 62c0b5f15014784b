"""Templates in sync with the providers (B3): every documented shape, through the fake provider and
the real webhook view; the 15-minute sweep; the rules of approval."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import WhatsAppAccount
from apps.core import work
from apps.core.exceptions import Conflict, Invalid
from apps.templates import services
from apps.templates.models import Template, TemplateSync
from tests.factories import QueueFactory, TemplateFactory
from tests.webhooks import manifest, post_signed

pytestmark = pytest.mark.django_db

META = manifest("meta")
WABA = META["credentials"]["waba_id"]
VERSION = META["credentials"]["api_version"]


def account_for(provider: str, fake, **extra) -> WhatsAppAccount:
    data = manifest(provider) if provider != "twilio" else manifest("twilio")
    return WhatsAppAccount.objects.create(
        name=f"{provider} line",
        provider=provider,
        phone_number=data["phone_number"],
        credentials={**data["credentials"], **extra},
        api_base_url=fake.url,
        queue=QueueFactory(),
    )


def meta_pages(fake) -> None:
    """Two pages of Meta's list (§1e): components, a paused and a rejected one, ``paging.next``."""

    def page(request, match):
        assert request.header("Authorization") == f"Bearer {META['credentials']['access_token']}"
        if request.query.get("after") == "CURSOR2":
            return 200, {
                "data": [
                    {"name": "late_notice", "status": "REJECTED", "language": "it", "id": "3", "category": "MARKETING",
                     "rejected_reason": "INVALID_FORMAT", "components": [{"type": "BODY", "text": "Ritardo {{1}}"}]},
                ],
                "paging": {"cursors": {"before": "b", "after": "c"}},
            }
        next_url = f"https://graph.facebook.com/{VERSION}/{WABA}/message_templates?limit=100&after=CURSOR2"
        return 200, {
            "data": [
                {
                    "name": "order_update", "status": "APPROVED", "category": "UTILITY", "language": "en_US", "id": "1",
                    "components": [
                        {"type": "HEADER", "format": "TEXT", "text": "Your order"},
                        {"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped.",
                         "example": {"body_text": [["Ana", "#12"]]}},
                        {"type": "FOOTER", "text": "Reply STOP to opt out"},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]},
                    ],
                },
                {"name": "promo", "status": "PAUSED", "language": "en_US", "id": "2", "category": "MARKETING",
                 "components": [{"type": "BODY", "text": "Sale!"}]},
                {"name": "weird", "status": "LIMIT_EXCEEDED", "language": "en_US", "id": "9"},
            ],
            "paging": {"cursors": {"before": "a", "after": "CURSOR2"}, "next": next_url},
        }

    fake.route("GET", rf"/{VERSION}/{WABA}/message_templates", page)


def test_meta_sync_follows_paging_and_creates_templates_with_their_content(fake_provider):
    account = account_for("meta", fake_provider)
    meta_pages(fake_provider)
    assert services.template_sync(account=account) == {"created": 3, "updated": 0, "unchanged": 0}
    order = Template.objects.get(account=account, name="order_update")
    assert (order.status, order.category, order.language, order.provider_template_id) == ("approved", "UTILITY", "en_US", "1")
    assert (order.header, order.body, order.footer) == ("Your order", "Hi {{1}}, order {{2}} has shipped.", "Reply STOP to opt out")
    assert order.buttons == [{"type": "QUICK_REPLY", "text": "Thanks"}] and order.param_count == 2
    assert Template.objects.get(name="promo").status == "paused"
    late = Template.objects.get(name="late_notice")
    assert (late.status, late.rejection_reason) == ("rejected", "INVALID_FORMAT")
    assert len(fake_provider.requests) == 2
    fake_provider.assert_clean()


def test_a_second_sync_counts_what_changed(fake_provider):
    account = account_for("meta", fake_provider)
    meta_pages(fake_provider)
    services.template_sync(account=account)
    Template.objects.filter(name="promo").update(status="approved")
    assert services.template_sync(account=account) == {"created": 0, "updated": 1, "unchanged": 2}
    assert Template.objects.get(name="promo").status == "paused"


def test_a_provider_error_is_reported_and_nothing_changes(fake_provider):
    account = account_for("meta", fake_provider)
    fake_provider.route("GET", rf"/{VERSION}/{WABA}/message_templates", (401, {"error": {"code": 190, "message": "expired"}}))
    with pytest.raises(Conflict) as caught:
        services.template_sync(account=account)
    assert caught.value.code == "sync_failed"
    assert not Template.objects.exists()
    assert "190" in TemplateSync.objects.get(account=account).error


def test_kaleyra_v2_list_of_meta_objects_and_v1_list(fake_provider):
    account = account_for("kaleyra", fake_provider)
    sid = account.credentials["sid"]
    fake_provider.route(
        "GET",
        rf"/v1/{sid}/messages/template",
        (200, {"data": [
            {"name": "delivery_update", "status": "APPROVED", "language": "en", "id": "77", "category": "UTILITY",
             "components": [{"type": "BODY", "text": "Parcel {{1}} arrives today"}]},
            {"template_name": "old_style", "template_status": "Rejected", "lang_code": "en", "template_id": "78",
             "reason": "TAG_CONTENT_MISMATCH", "body": "Old {{1}}"},
        ]}),
    )
    assert services.template_sync(account=account) == {"created": 2, "updated": 0, "unchanged": 0}
    new = Template.objects.get(name="delivery_update")
    assert (new.status, new.body, new.provider_template_id) == ("approved", "Parcel {{1}} arrives today", "77")
    old = Template.objects.get(name="old_style")
    assert (old.status, old.rejection_reason, old.body) == ("rejected", "TAG_CONTENT_MISMATCH", "Old {{1}}")


def test_twilio_content_and_approvals_with_paging(fake_provider):
    account = account_for("twilio", fake_provider)

    def page(request, match):
        assert request.header("Authorization").startswith("Basic ")
        if request.query.get("Page") == "1":
            return 200, {"contents": [
                {"sid": "HX2", "friendly_name": "draft_only", "language": "en", "types": {"twilio/text": {"body": "x"}},
                 "approval_requests": {}},
            ], "meta": {"next_page_url": None}}
        return 200, {"contents": [
            {"sid": "HX1", "friendly_name": "appointment", "language": "en",
             "types": {"twilio/text": {"body": "See you at {{1}}"}},
             "approval_requests": {"name": "appointment", "category": "UTILITY", "status": "approved", "rejection_reason": ""}},
        ], "meta": {"next_page_url": "https://content.twilio.com/v1/ContentAndApprovals?PageSize=100&Page=1"}}

    fake_provider.route("GET", r"/v1/ContentAndApprovals", page)
    assert services.template_sync(account=account) == {"created": 1, "updated": 0, "unchanged": 0}
    template = Template.objects.get(account=account)
    assert (template.name, template.status, template.provider_template_id, template.body) == (
        "appointment", "approved", "HX1", "See you at {{1}}",
    )
    assert len(fake_provider.requests) == 2


@pytest.mark.parametrize(
    "value, status, reason",
    [
        ({"event": "APPROVED", "reason": "NONE"}, "approved", ""),
        ({"event": "REJECTED", "reason": "INVALID_FORMAT"}, "rejected", "INVALID_FORMAT"),
        ({"event": "PAUSED", "reason": None, "other_info": {"title": "FIRST_PAUSE", "description": "Low quality"}}, "paused", "FIRST_PAUSE"),
        ({"event": "DISABLED", "reason": None, "disable_info": {"disable_date": "1767226100"}}, "disabled", ""),
    ],
)
def test_meta_status_webhook_through_the_real_view(client, fake_provider, on_commit, value, status, reason):
    account = account_for("meta", fake_provider)
    template = TemplateFactory(account=account, name="order_update", language="en_US", status="pending", body="Hi {{1}}")
    change = {"message_template_id": 1234567890123456, "message_template_name": "order_update",
              "message_template_language": "en_US", **value}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": WABA, "time": 1767226100, "changes": [{"field": "message_template_status_update", "value": change}]}
    ]}).encode()
    with on_commit():
        response = post_signed(client, account, body, content_type="application/json")
    assert response.status_code == 200
    template.refresh_from_db()
    assert (template.status, template.rejection_reason) == (status, reason)
    assert template.provider_template_id == "1234567890123456"


def test_the_sweep_asks_for_a_sync_every_15_minutes(fake_provider, on_commit):
    account = account_for("meta", fake_provider)
    meta_pages(fake_provider)
    sandbox = WhatsAppAccount.objects.create(name="demo", provider="sandbox", phone_number="+15550009999", queue=QueueFactory())
    with on_commit():
        assert services.templates_sync_due() == 1  # the Sandbox has no list to sync
    assert Template.objects.filter(account=account).count() == 3
    assert not Template.objects.filter(account=sandbox).exists()
    with on_commit():
        assert services.templates_sync_due(now=timezone.now() + timedelta(minutes=5)) == 0
        assert services.templates_sync_due(now=timezone.now() + timedelta(minutes=16)) == 1
    assert "templates" in work._sweepers


def test_an_admin_cannot_approve_a_provider_template_by_hand_but_can_on_the_sandbox(fake_provider):
    meta = account_for("meta", fake_provider)
    with pytest.raises(Invalid) as caught:
        services.template_create(account=meta, name="x", body="Hi", status="approved")
    assert caught.value.code == "status_from_provider"
    draft = services.template_create(account=meta, name="x", body="Hi")
    with pytest.raises(Invalid):
        services.template_update(template=draft, status="approved")
    sandbox = WhatsAppAccount.objects.create(name="demo", provider="sandbox", phone_number="+15550009999", queue=QueueFactory())
    assert services.template_create(account=sandbox, name="x", body="Hi", status="approved").status == "approved"


def test_only_approved_templates_are_sendable_and_the_refusal_says_why(db):
    paused = TemplateFactory(status="paused", rejection_reason="FIRST_PAUSE")
    with pytest.raises(Conflict) as caught:
        services.template_sendable_check(paused)
    assert caught.value.code == "template_not_approved" and "FIRST_PAUSE" in caught.value.detail
    services.template_sendable_check(TemplateFactory(status="approved"))


def test_meta_submission_in_the_documented_format(fake_provider):
    account = account_for("meta", fake_provider)
    draft = services.template_create(
        account=account, name="order_ready", language="en_US", category="UTILITY", header="Ready",
        body="Hi {{1}}, order {{2}} is ready", footer="Thanks", examples=["Ana", "#1"],
    )

    def create(request, match):
        body = request.json()
        assert body == {
            "name": "order_ready", "language": "en_US", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Ready"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready", "example": {"body_text": [["Ana", "#1"]]}},
                {"type": "FOOTER", "text": "Thanks"},
            ],
        }
        return 200, {"id": "555", "status": "PENDING", "category": "UTILITY"}

    fake_provider.route("POST", rf"/{VERSION}/{WABA}/message_templates", create)
    submitted = services.template_submit(template=draft)
    assert (submitted.status, submitted.provider_template_id) == ("pending", "555")
    fake_provider.assert_clean()
    with pytest.raises(Conflict):
        services.template_submit(template=submitted)  # no longer a draft
