"""Every provider's documented payloads, fed through the real webhook view and the pipeline."""
from __future__ import annotations

import pytest

from apps.accounts.models import WhatsAppAccount
from apps.interactions.models import Interaction, Message
from apps.providers.models import WebhookEvent
from apps.templates.models import Template
from tests.factories import InteractionFactory, MessageFactory, QueueFactory
from tests.webhooks import PROVIDERS, fixture_bytes, manifest, post_signed

pytestmark = pytest.mark.django_db

MEDIA_BYTES = b"\x89PNG fake media bytes"


def cases():
    for provider in PROVIDERS:
        for entry in manifest(provider)["fixtures"]:
            yield pytest.param(provider, entry, id=f"{provider}-{entry['file']}")


def make_account(provider: str, fake) -> WhatsAppAccount:
    data = manifest(provider)
    return WhatsAppAccount.objects.create(
        name=f"{provider} account",
        provider=provider,
        phone_number=data["phone_number"],
        credentials=data["credentials"],
        api_base_url=fake.url,
        queue=QueueFactory(),
    )


def serve_media(fake) -> None:
    """Any media download gets bytes; Meta's first step (the media id look-up) gets its JSON."""
    fake.route("GET", r"/.*", (200, MEDIA_BYTES, {"Content-Type": "image/png"}))
    fake.route(
        "POST", r"/oauth2/token", (200, {"access_token": "tok", "expires_in": 3600, "token_type": "bearer"})
    )
    fake.route(
        "GET",
        r"/v[0-9.]+/(?P<media_id>[^/]+)",
        lambda req, m: (200, {"url": f"{fake.url}/files/{m['media_id']}", "mime_type": "image/png", "id": m["media_id"]}),
    )
    fake.route("GET", r"/files/.*", (200, MEDIA_BYTES, {"Content-Type": "image/png"}))


def prepare(account: WhatsAppAccount, expectations: list[dict]) -> None:
    """Statuses need the message we sent; template updates need the template."""
    for expect in expectations:
        if expect["type"] == "status":
            interaction = InteractionFactory(account=account, status="open", customer_phone="+15551234567")
            MessageFactory(
                interaction=interaction, direction="out", provider_message_id=expect["provider_message_id"], status="sent"
            )
        elif expect["type"] == "template":
            Template.objects.create(
                account=account, name=expect["name"], language=expect["language"], body="Hi {{1}}", status="pending"
            )


@pytest.mark.parametrize("provider, entry", list(cases()))
def test_documented_payload_goes_through_the_real_webhook_view(client, fake_provider, on_commit, provider, entry):
    account = make_account(provider, fake_provider)
    serve_media(fake_provider)
    prepare(account, entry["expect"])
    body = fixture_bytes(provider, entry["file"])
    with on_commit():
        response = post_signed(client, account, body, content_type=entry["content_type"], method=entry["method"])
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get(account=account)
    assert event.status == ("processed" if entry["expect"] else "ignored"), event.error

    for expect in entry["expect"]:
        if expect["type"] == "message":
            message = Message.objects.get(account=account, provider_message_id=expect["provider_message_id"])
            assert message.direction == "in"
            assert message.kind == expect["kind"]
            assert message.text == expect["text"]
            interaction = message.interaction
            assert interaction.customer_phone == expect["customer_phone"]
            assert interaction.customer_user_id == expect.get("customer_user_id", "")
            assert interaction.queue == account.queue
            if expect.get("has_media"):
                assert message.media_state == "stored", message.error_message
                assert message.attachment.read() == MEDIA_BYTES
            else:
                assert not message.attachment
        elif expect["type"] == "status":
            message = Message.objects.get(account=account, provider_message_id=expect["provider_message_id"])
            assert message.status == expect["status"]
            assert message.error_code == expect.get("error_code", "")
        elif expect["type"] == "template":
            template = Template.objects.get(account=account, name=expect["name"], language=expect["language"])
            assert template.status == expect["status"]
    fake_provider.assert_clean()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_bad_signature_from_any_provider_gets_403_and_stores_nothing(client, fake_provider, on_commit, provider):
    account = make_account(provider, fake_provider)
    entry = next(e for e in manifest(provider)["fixtures"] if e["method"] == "POST" and e["expect"])
    body = fixture_bytes(provider, entry["file"])
    bad = {
        "meta": {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        "twilio": {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        "sinch": {
            "x-sinch-webhook-signature": "AAAA",
            "x-sinch-webhook-signature-nonce": "n",
            "x-sinch-webhook-signature-timestamp": "1",
        },
        "kaleyra": {"X-Instant-Token": "wrong"},
    }[provider]
    with on_commit():
        bad_response = post_signed(
            client, account, body, content_type=entry["content_type"], sign=False, headers=bad
        )
        missing_response = post_signed(client, account, body, content_type=entry["content_type"], sign=False)
    assert bad_response.status_code == 403
    assert missing_response.status_code == 403
    assert not WebhookEvent.objects.exists()
    assert not Message.objects.exists()
    assert not Interaction.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_provider_webhook_delivered_five_times_gives_one_message(client, fake_provider, on_commit, provider):
    account = make_account(provider, fake_provider)
    serve_media(fake_provider)
    entry = next(e for e in manifest(provider)["fixtures"] if e["expect"] and e["expect"][0]["type"] == "message")
    body = fixture_bytes(provider, entry["file"])
    for _ in range(5):
        with on_commit():
            response = post_signed(client, account, body, content_type=entry["content_type"], method=entry["method"])
        assert response.status_code == 200
    assert Message.objects.filter(account=account).count() == len(entry["expect"])
    assert Interaction.objects.count() == 1


def test_meta_verification_handshake_answers_the_challenge(client, fake_provider):
    account = make_account("meta", fake_provider)
    token = account.credentials["verify_token"]
    ok = client.get(account.webhook_path, {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token})
    assert ok.status_code == 200
    assert ok.content == b"1158201444"
    wrong = client.get(account.webhook_path, {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "x"})
    assert wrong.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_twilio_is_answered_with_empty_twiml(client, fake_provider, on_commit):
    account = make_account("twilio", fake_provider)
    with on_commit():
        response = post_signed(
            client, account, fixture_bytes("twilio", "text.form"), content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 200
    assert b"<Response" in response.content
    assert response["Content-Type"].startswith("text/xml")


def test_a_failed_media_download_is_retried_and_never_blocks_the_message(client, fake_provider, on_commit, settings):
    from apps.core.models import Job
    from tests.work import run_later_work

    account = make_account("meta", fake_provider)
    fake_provider.route("GET", r"/.*", (503, {"error": {"message": "down", "code": 2}}))
    with on_commit():
        post_signed(client, account, fixture_bytes("meta", "image.json"), content_type="application/json")
    message = Message.objects.get()
    assert message.text == "Broken screen"  # the message is there at once
    assert message.media_state == "pending"
    assert Job.objects.filter(state="pending").exists(), "a retry should be scheduled"
    serve_media(fake_provider)
    with on_commit():
        run_later_work()
    message.refresh_from_db()
    assert message.media_state == "stored"
    assert message.attachment.read() == MEDIA_BYTES
