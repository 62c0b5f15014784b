"""Sinch Conversation API backend: signatures, parsing from the fixtures, OAuth and sends."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from apps.providers.base import AccountConfig, CaseInsensitiveDict, WebhookRequest
from apps.providers.sinch import SinchBackend
from apps.providers.types import (
    CredentialsError,
    DeliveryStatus,
    InboundMessage,
    MediaRef,
    MessageKind,
    OutboundMedia,
    PayloadError,
    ProviderError,
    SignatureError,
    StatusUpdate,
    TemplateMessage,
)
from tests.providers.signing_sinch import sign_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "sinch"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CREDENTIALS = MANIFEST["credentials"]
APP_ID = CREDENTIALS["app_id"]
PROJECT_ID = CREDENTIALS["project_id"]
WEBHOOK_URL = "https://example.test/webhooks/tok/"
NOW = datetime(2026, 1, 15, 10, 21, 0, tzinfo=timezone.utc)
SEND_PATH = rf"/v1/projects/{PROJECT_ID}/messages:send"
TOKEN_PATH = r"/oauth2/token"

# The published vector (sinch-sdk-dotnet WebhooksTests.cs / WebhooksAuthValidationSingleLine.json).
VECTOR_BODY = (
    b'{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4",'
    b'"contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":'
    b'[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact",'
    b'"email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}'
)
VECTOR_HEADERS = {
    "x-sinch-webhook-signature-nonce": "01FJA8B4A7BM43YGWSG9GBV067",
    "x-sinch-webhook-signature-timestamp": "1634579353",
    "x-sinch-webhook-signature": "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE=",
}


@pytest.fixture(autouse=True)
def _fresh_token_cache():
    # The token cache is process-wide on purpose; tests must not inherit one another's tokens.
    SinchBackend.clear_token_cache()
    yield
    SinchBackend.clear_token_cache()


def make_backend(fake_provider=None, *, now: datetime = NOW, **credentials: str) -> SinchBackend:
    account = AccountConfig(
        id=1,
        provider="sinch",
        phone_number=MANIFEST["phone_number"],
        credentials={**CREDENTIALS, **credentials},
        api_base_url=fake_provider.url if fake_provider else "",
        webhook_url=WEBHOOK_URL,
    )
    return SinchBackend(account, now=lambda: now)


def json_request(body: bytes, *, signed: bool = True, at: datetime = NOW, headers: dict | None = None) -> WebhookRequest:
    all_headers = {"Content-Type": "application/json"}
    if signed:
        all_headers.update(sign_request(credentials=CREDENTIALS, url=WEBHOOK_URL, body=body, now=at.timestamp()))
    all_headers.update(headers or {})
    return WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(all_headers), body)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def describe(event: InboundMessage | StatusUpdate) -> dict:
    """An event in the manifest's terms."""
    if isinstance(event, StatusUpdate):
        return {"type": "status", "provider_message_id": event.provider_message_id, "status": event.status.value,
                "error_code": event.error_code}
    return {"type": "message", "kind": event.kind.value, "text": event.text, "customer_phone": event.customer_phone,
            "customer_user_id": event.customer_user_id, "provider_message_id": event.provider_message_id,
            "has_media": event.media is not None}


# ----- webhooks: fixtures -------------------------------------------------------------------
@pytest.mark.parametrize("entry", MANIFEST["fixtures"], ids=lambda entry: entry["file"])
def test_every_manifest_fixture_verifies_and_parses_to_its_expectations(entry):
    request = json_request(fixture(entry["file"]))
    backend = make_backend()

    backend.verify(request)
    events = backend.parse(request)

    assert [describe(event) for event in events] == entry["expect"]


def test_fixtures_belong_to_the_manifest_app():
    for entry in MANIFEST["fixtures"]:
        assert json.loads(fixture(entry["file"]))["app_id"] == APP_ID, entry["file"]


def test_an_inbound_message_keeps_sinchs_own_time_with_nine_fractional_digits():
    [message] = make_backend().parse(json_request(fixture("text.json")))

    assert message.timestamp == datetime(2026, 1, 15, 10, 20, 30, 123456, tzinfo=timezone.utc)


def test_a_delivery_report_uses_its_event_time():
    [status] = make_backend().parse(json_request(fixture("delivery_read.json")))

    assert status.timestamp == datetime(2026, 1, 15, 10, 21, 0, 400000, tzinfo=timezone.utc)


def test_a_media_card_keeps_its_caption_and_a_type_guessed_from_the_url():
    [message] = make_backend().parse(json_request(fixture("image_caption.json")))

    assert message.kind is MessageKind.IMAGE
    assert message.text == "My receipt"
    assert message.media.content_type == "image/jpeg"
    assert message.media.url.endswith(".jpeg")


def test_a_document_keeps_the_file_name_from_its_url():
    [message] = make_backend().parse(json_request(fixture("document.json")))

    assert message.media.filename == "invoice-2026-01.pdf"
    assert message.media.content_type == "application/pdf"


def test_a_location_carries_its_coordinates_title_and_label():
    [message] = make_backend().parse(json_request(fixture("location.json")))

    assert message.location == {
        "latitude": -23.5505199,
        "longitude": -46.6333094,
        "name": "Sé",
        "address": "Praça da Sé, São Paulo",
    }


def test_a_choice_response_reads_as_its_postback_and_answers_our_message():
    [message] = make_backend().parse(json_request(fixture("choice_response.json")))

    assert message.reply_to == "01OUTSINCH0000000000000001"
    assert message.raw_type == "choice_response_message"


def test_a_window_failure_carries_the_reason_code_and_description():
    [status] = make_backend().parse(json_request(fixture("delivery_failed_window.json")))

    assert status.status is DeliveryStatus.FAILED
    assert status.error_code == "OUTSIDE_ALLOWED_SENDING_WINDOW"
    assert "sending window" in status.error_message


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.jpg", MessageKind.IMAGE),
        ("a.PNG", MessageKind.IMAGE),
        ("a.mp4", MessageKind.VIDEO),
        ("a.ogg", MessageKind.VOICE),
        ("a.opus", MessageKind.VOICE),
        ("a.mp3", MessageKind.AUDIO),
        ("a.m4a", MessageKind.AUDIO),
        ("a.aac", MessageKind.AUDIO),
        ("a.amr", MessageKind.AUDIO),
        ("a.webp", MessageKind.STICKER),
        ("a.docx", MessageKind.DOCUMENT),
        ("noextension", MessageKind.DOCUMENT),
    ],
)
def test_the_media_kind_follows_the_url_extension(name, kind):
    payload = json.loads(fixture("image.json"))
    payload["message"]["contact_message"] = {"media_message": {"url": f"https://media.sinch.test/x/{name}?sig=1.2"}}
    [message] = make_backend().parse(json_request(json.dumps(payload).encode()))

    assert message.kind is kind


def test_an_identity_with_a_plus_is_tolerated():
    payload = json.loads(fixture("text.json"))
    payload["message"]["channel_identity"]["identity"] = "+15551234567"
    [message] = make_backend().parse(json_request(json.dumps(payload).encode()))

    assert message.customer_phone == "+15551234567"


@pytest.mark.parametrize(
    "contact_message",
    [
        {"fallback_message": {"raw_message": "{}", "reason": {"code": "UNSUPPORTED_OPERATION"}}},
        {"channel_specific_message": {"message_type": "nfm_reply"}},
        {"product_response_message": {}},
    ],
)
def test_messages_sinch_cannot_transcode_are_kept_as_unsupported(contact_message):
    payload = json.loads(fixture("text.json"))
    payload["message"]["contact_message"] = contact_message
    [message] = make_backend().parse(json_request(json.dumps(payload).encode()))

    assert message.kind is MessageKind.UNSUPPORTED
    assert message.raw_type == next(iter(contact_message))


def test_a_switching_channel_report_is_ignored():
    payload = json.loads(fixture("delivery_delivered.json"))
    payload["message_delivery_report"]["status"] = "SWITCHING_CHANNEL"

    assert make_backend().parse(json_request(json.dumps(payload).encode())) == []


def test_events_of_another_app_are_ignored():
    payload = json.loads(fixture("text.json"))
    payload["app_id"] = "01HSOMEOTHERAPP0000000000X"

    assert make_backend().parse(json_request(json.dumps(payload).encode())) == []


def test_a_message_from_another_channel_of_the_app_is_ignored():
    payload = json.loads(fixture("text.json"))
    payload["message"]["channel_identity"]["channel"] = "MESSENGER"

    assert make_backend().parse(json_request(json.dumps(payload).encode())) == []


def test_notifications_that_are_not_messages_are_ignored():
    assert make_backend().parse(json_request(b'{"app_id":"","message_submit_notification":{"message_id":"X"}}')) == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"message": {"direction": "TO_APP"}}',
        b'{"message": {"id": "X", "channel_identity": {"channel": "WHATSAPP", "identity": "abc"}, "contact_message": {}}}',
        b'{"message": {"id": "X", "channel_identity": {"channel": "WHATSAPP", "identity": "1555"}}}',
        b'{"message": {"id": "X", "channel_identity": {"channel": "WHATSAPP", "identity": "1555"},'
        b' "contact_message": {"media_message": {}}}}',
        b'{"message": {"id": "X", "channel_identity": {"channel": "WHATSAPP", "identity": "1555"},'
        b' "contact_message": {"text_message": {"text": "hi"}}, "accept_time": "yesterday"}}',
        b'{"message_delivery_report": {"status": "DELIVERED"}}',
    ],
)
def test_a_malformed_body_is_a_payload_error(body):
    with pytest.raises(PayloadError):
        make_backend().parse(json_request(body))


def test_event_ids_follow_the_message_and_the_delivery_status():
    backend = make_backend()

    assert backend.event_id(json_request(fixture("text.json"))) == "01HSINCHMSG000000000000TX1"
    assert backend.event_id(json_request(fixture("delivery_read.json"))) == "01OUTSINCH0000000000000001:READ"
    composing = backend.event_id(json_request(fixture("event_composing.json")))
    assert composing == backend.event_id(json_request(fixture("event_composing.json")))
    assert len(composing) == 64


# ----- webhooks: signatures -----------------------------------------------------------------
def test_the_published_sinch_vector_is_reproduced():
    backend = make_backend(webhook_secret="foo_secret1234", now=datetime.fromtimestamp(1634579353 + 5, timezone.utc))
    request = WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(VECTOR_HEADERS), VECTOR_BODY)

    backend.verify(request)  # does not raise


def test_the_published_vector_is_stale_by_todays_clock():
    backend = make_backend(webhook_secret="foo_secret1234")
    request = WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(VECTOR_HEADERS), VECTOR_BODY)

    with pytest.raises(SignatureError):
        backend.verify(request)


def test_the_signature_covers_the_raw_bytes_with_the_trailing_newline_kept():
    body = fixture("text.json")
    assert body.endswith(b"}\n")
    headers = sign_request(credentials=CREDENTIALS, url=WEBHOOK_URL, body=body, now=NOW.timestamp())
    backend = make_backend()

    backend.verify(WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), body))  # does not raise
    with pytest.raises(SignatureError):
        backend.verify(WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), body.rstrip(b"\n")))
    reserialised = json.dumps(json.loads(body)).encode()
    with pytest.raises(SignatureError):
        backend.verify(WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), reserialised))


@pytest.mark.parametrize(("algorithm", "digest"), [("HmacSHA384", hashlib.sha384), ("HmacSHA512", hashlib.sha512)])
def test_a_stronger_algorithm_is_accepted_when_the_header_names_it(algorithm, digest):
    body = fixture("text.json")
    nonce, timestamp = "NONCE1", str(int(NOW.timestamp()))
    signed = body + f".{nonce}.{timestamp}".encode()
    signature = base64.b64encode(hmac.new(CREDENTIALS["webhook_secret"].encode(), signed, digest).digest()).decode()
    headers = {
        "x-sinch-webhook-signature": signature,
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": timestamp,
        "x-sinch-webhook-signature-algorithm": algorithm,
    }

    make_backend().verify(WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), body))  # does not raise


def test_an_unknown_algorithm_is_refused():
    request = json_request(fixture("text.json"), headers={"x-sinch-webhook-signature-algorithm": "HmacMD5"})

    with pytest.raises(SignatureError):
        make_backend().verify(request)


def test_a_bad_signature_is_refused():
    request = json_request(fixture("text.json"), headers={"x-sinch-webhook-signature": VECTOR_HEADERS["x-sinch-webhook-signature"]})

    with pytest.raises(SignatureError):
        make_backend().verify(request)


def test_a_signature_made_with_another_secret_is_refused():
    body = fixture("text.json")
    headers = sign_request(credentials={"webhook_secret": "not-ours"}, url=WEBHOOK_URL, body=body, now=NOW.timestamp())

    with pytest.raises(SignatureError):
        make_backend().verify(WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), body))


@pytest.mark.parametrize(
    "missing",
    ["x-sinch-webhook-signature", "x-sinch-webhook-signature-nonce", "x-sinch-webhook-signature-timestamp"],
)
def test_a_missing_signature_header_is_refused(missing):
    request = json_request(fixture("text.json"))
    del request.headers[missing]

    with pytest.raises(SignatureError):
        make_backend().verify(request)


@pytest.mark.parametrize("age", [timedelta(minutes=11), timedelta(minutes=-11)])
def test_a_signature_older_or_newer_than_ten_minutes_is_refused(age):
    request = json_request(fixture("text.json"), at=NOW - age)

    with pytest.raises(SignatureError):
        make_backend().verify(request)


def test_a_signature_a_few_minutes_old_is_accepted():
    make_backend().verify(json_request(fixture("text.json"), at=NOW - timedelta(minutes=9)))  # does not raise


def test_without_a_webhook_secret_every_webhook_is_refused():
    request = json_request(fixture("text.json"))

    with pytest.raises(SignatureError):
        make_backend(webhook_secret="").verify(request)


# ----- credentials --------------------------------------------------------------------------
def test_valid_credentials_are_cleaned():
    assert SinchBackend.validate_credentials(CREDENTIALS) == CREDENTIALS


def test_the_webhook_secret_is_required():
    credentials = {k: v for k, v in CREDENTIALS.items() if k != "webhook_secret"}

    with pytest.raises(CredentialsError) as excinfo:
        SinchBackend.validate_credentials(credentials)

    assert set(excinfo.value.errors) == {"webhook_secret"}


def test_an_auth_url_must_be_a_url():
    with pytest.raises(CredentialsError) as excinfo:
        SinchBackend.validate_credentials({**CREDENTIALS, "auth_url": "auth.sinch.com"})

    assert set(excinfo.value.errors) == {"auth_url"}


def test_secrets_are_the_key_secret_and_the_webhook_secret():
    assert SinchBackend.secret_fields() == {"key_secret", "webhook_secret"}
    assert (SinchBackend.supports_templates, SinchBackend.supports_campaigns) == (True, False)


def test_the_token_url_defaults_to_sinch_or_follows_the_api_base_url(fake_provider):
    assert make_backend().auth_url == "https://auth.sinch.com/oauth2/token"
    assert make_backend(fake_provider).auth_url == f"{fake_provider.url}/oauth2/token"
    assert make_backend(auth_url="https://eu.auth.sinch.test/oauth2/token").auth_url == "https://eu.auth.sinch.test/oauth2/token"
    # With a fake provider, even an explicit token URL is rebased there.
    assert make_backend(fake_provider, auth_url="https://eu.auth.sinch.test/oauth2/token").auth_url == f"{fake_provider.url}/oauth2/token"


# ----- OAuth and sending --------------------------------------------------------------------
def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def token_route(fake_provider, tokens: list[str], expires_in: int = 3599) -> list[str]:
    issued: list[str] = []

    def handler(req, match):
        assert req.header("Authorization") == basic(CREDENTIALS["key_id"], CREDENTIALS["key_secret"])
        assert req.header("Content-Type").startswith("application/x-www-form-urlencoded")
        assert req.form_dict() == {"grant_type": "client_credentials"}
        token = tokens[len(issued)]
        issued.append(token)
        return 200, {"access_token": token, "expires_in": expires_in, "scope": "", "token_type": "bearer"}

    fake_provider.route("POST", TOKEN_PATH, handler)
    return issued


def accepted(message_id: str = "01OUTSINCH0000000000000001") -> tuple:
    return 200, {"message_id": message_id, "accepted_time": "2026-01-15T10:21:00.123Z"}


def check_envelope(req, token: str = "tok-1") -> dict:
    assert req.header("Authorization") == f"Bearer {token}"
    assert req.header("Content-Type").startswith("application/json")
    body = req.json()
    assert body["app_id"] == APP_ID
    assert body["recipient"] == {"identified_by": {"channel_identities": [{"channel": "WHATSAPP", "identity": "15557654321"}]}}
    assert body["channel_priority_order"] == ["WHATSAPP"]
    return body["message"]


def test_a_text_is_sent_with_a_bearer_token_to_the_app_recipient(fake_provider):
    token_route(fake_provider, ["tok-1"])

    def handler(req, match):
        assert check_envelope(req) == {"text_message": {"text": "Olá, tudo bem?"}}
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    result = make_backend(fake_provider).send_text(to="+15557654321", text="Olá, tudo bem?")

    assert result.provider_message_id == "01OUTSINCH0000000000000001"
    assert result.status is DeliveryStatus.QUEUED
    fake_provider.assert_clean()


def test_the_token_is_fetched_once_and_reused_across_sends(fake_provider):
    issued = token_route(fake_provider, ["tok-1", "tok-2"])
    fake_provider.route("POST", SEND_PATH, lambda req, match: (check_envelope(req, "tok-1"), accepted())[1])

    make_backend(fake_provider).send_text(to="+15557654321", text="one")
    make_backend(fake_provider).send_text(to="+15557654321", text="two")  # a new backend, same process

    assert issued == ["tok-1"]
    fake_provider.assert_clean()


def test_the_token_is_refetched_shortly_before_it_expires(fake_provider):
    issued = token_route(fake_provider, ["tok-1", "tok-2"], expires_in=3600)
    seen: list[str] = []
    fake_provider.route("POST", SEND_PATH, lambda req, match: (seen.append(req.header("Authorization")), accepted())[1])

    make_backend(fake_provider).send_text(to="+15557654321", text="one")
    make_backend(fake_provider, now=NOW + timedelta(seconds=3541)).send_text(to="+15557654321", text="two")

    assert issued == ["tok-1", "tok-2"]
    assert seen == ["Bearer tok-1", "Bearer tok-2"]
    fake_provider.assert_clean()


def test_a_401_drops_the_cached_token_and_retries_once_with_a_new_one(fake_provider):
    issued = token_route(fake_provider, ["tok-1", "tok-2"])
    seen: list[str] = []

    def handler(req, match):
        seen.append(req.header("Authorization"))
        if req.header("Authorization") == "Bearer tok-1":
            return 401, {"error": {"code": 401, "message": "Token expired", "status": "UNAUTHENTICATED"}}
        check_envelope(req, "tok-2")
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    result = make_backend(fake_provider).send_text(to="+15557654321", text="hi")
    make_backend(fake_provider).send_text(to="+15557654321", text="again")

    assert result.provider_message_id == "01OUTSINCH0000000000000001"
    assert issued == ["tok-1", "tok-2"]
    assert seen == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    fake_provider.assert_clean()


def test_a_second_401_is_a_permanent_error(fake_provider):
    issued = token_route(fake_provider, ["tok-1", "tok-2"])
    fake_provider.route("POST", SEND_PATH, (401, {"error": {"code": 401, "message": "Unauthorized", "status": "UNAUTHENTICATED"}}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert (excinfo.value.code, excinfo.value.permanent, excinfo.value.http_status) == ("UNAUTHENTICATED", True, 401)
    assert issued == ["tok-1", "tok-2"]


def test_refused_access_keys_are_a_permanent_error(fake_provider):
    fake_provider.route("POST", TOKEN_PATH, (401, {"error": "invalid_client", "error_description": "Bad credentials"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert (excinfo.value.code, excinfo.value.permanent) == ("invalid_client", True)


def test_media_without_a_caption_is_a_media_message(fake_provider):
    token_route(fake_provider, ["tok-1"])

    def handler(req, match):
        assert check_envelope(req) == {"media_message": {"url": "https://files.example.test/a.jpg"}}
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    media = OutboundMedia(url="https://files.example.test/a.jpg", content_type="image/jpeg", kind=MessageKind.IMAGE)
    make_backend(fake_provider).send_media(to="+15557654321", media=media)
    fake_provider.assert_clean()


def test_media_with_a_caption_is_a_card_message(fake_provider):
    token_route(fake_provider, ["tok-1"])

    def handler(req, match):
        message = check_envelope(req)
        assert message == {"card_message": {"media_message": {"url": "https://files.example.test/a.pdf"},
                                            "description": "Your invoice"}}
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    media = OutboundMedia(url="https://files.example.test/a.pdf", content_type="application/pdf")
    make_backend(fake_provider).send_media(to="+15557654321", media=media, caption="Your invoice")
    fake_provider.assert_clean()


def test_a_template_is_a_whatsapp_channel_template_with_flattened_parameters(fake_provider):
    token_route(fake_provider, ["tok-1"])

    def handler(req, match):
        assert check_envelope(req) == {"template_message": {"channel_template": {"WHATSAPP": {
            "template_id": "order_update",
            "language_code": "pt_BR",
            "parameters": {"header[1]text": "Pedido", "body[1]text": "Ana", "body[2]text": "#1234"},
        }}}}
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    template = TemplateMessage(name="order_update", language="pt_BR", body_params=["Ana", "#1234"], header_params=["Pedido"])
    make_backend(fake_provider).send_template(to="+15557654321", template=template)
    fake_provider.assert_clean()


def test_a_template_uses_the_provider_template_id_when_synced(fake_provider):
    token_route(fake_provider, ["tok-1"])

    def handler(req, match):
        whatsapp = check_envelope(req)["template_message"]["channel_template"]["WHATSAPP"]
        assert whatsapp["template_id"] == "sinch-tpl-42"
        assert whatsapp["parameters"] == {}
        return accepted()

    fake_provider.route("POST", SEND_PATH, handler)

    make_backend(fake_provider).send_template(
        to="+15557654321", template=TemplateMessage("welcome", "en", provider_template_id="sinch-tpl-42"))
    fake_provider.assert_clean()


def test_a_bad_request_is_permanent_with_sinchs_status(fake_provider):
    token_route(fake_provider, ["tok-1"])
    fake_provider.route("POST", SEND_PATH, (400, {"error": {
        "code": 400, "message": "Invalid recipient", "status": "INVALID_ARGUMENT", "details": []}}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    error = excinfo.value
    assert (error.code, error.message, error.permanent, error.window_closed) == (
        "INVALID_ARGUMENT", "Invalid recipient", True, False)
    fake_provider.assert_clean()


def test_a_synchronous_window_refusal_is_flagged_window_closed(fake_provider):
    token_route(fake_provider, ["tok-1"])
    fake_provider.route("POST", SEND_PATH, (400, {"error": {
        "code": 400, "message": "Outside the allowed sending window", "status": "FAILED_PRECONDITION",
        "details": [{"reason": "OUTSIDE_ALLOWED_SENDING_WINDOW"}]}}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert (excinfo.value.code, excinfo.value.window_closed, excinfo.value.permanent) == (
        "OUTSIDE_ALLOWED_SENDING_WINDOW", True, True)


def test_a_rate_limit_is_retryable_after_the_advertised_delay(fake_provider):
    token_route(fake_provider, ["tok-1"])
    fake_provider.route("POST", SEND_PATH, (429, {"error": {"code": 429, "message": "Slow down", "status": "RESOURCE_EXHAUSTED"}},
                                            {"Retry-After": "3"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert (excinfo.value.permanent, excinfo.value.retry_after) == (False, 3.0)


def test_a_server_error_is_retryable(fake_provider):
    token_route(fake_provider, ["tok-1"])
    fake_provider.route("POST", SEND_PATH, (503, "upstream unavailable"))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert not excinfo.value.permanent


# ----- media --------------------------------------------------------------------------------
def test_media_is_fetched_from_the_rebased_url_without_credentials(fake_provider):
    [message] = make_backend().parse(json_request(fixture("voice.json")))
    path = "/conversation/" + APP_ID + "/01HSINCHMEDIA0000000000VO1.ogg"

    def handler(req, match):
        assert req.header("Authorization") == ""
        return 200, b"OggS voice", {"Content-Type": "audio/ogg"}

    fake_provider.route("GET", path.replace(".", r"\."), handler)

    fetched = make_backend(fake_provider).fetch_media(message.media)

    assert (fetched.content, fetched.content_type) == (b"OggS voice", "audio/ogg")
    fake_provider.assert_clean()


def test_media_without_a_content_type_falls_back_to_the_guess_from_the_url(fake_provider):
    fake_provider.route("GET", r"/m/doc\.pdf", (200, b"%PDF-1.7", {"Content-Type": ""}))

    fetched = make_backend(fake_provider).fetch_media(MediaRef(url="https://media.sinch.test/m/doc.pdf", content_type="application/pdf"))

    assert (fetched.content, fetched.content_type) == (b"%PDF-1.7", "application/pdf")
    fake_provider.assert_clean()
