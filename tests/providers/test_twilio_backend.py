"""Twilio backend: webhook signatures and parsing from the fixtures, sends against the fake provider."""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from apps.providers.base import AccountConfig, CaseInsensitiveDict, WebhookRequest
from apps.providers.twilio import TwilioBackend
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
from tests.providers.signing_twilio import sign_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "twilio"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CREDENTIALS = MANIFEST["credentials"]
ACCOUNT_SID = CREDENTIALS["account_sid"]
WEBHOOK_URL = "https://example.test/webhooks/tok/"
NOW = datetime(2026, 1, 15, 10, 20, 30, tzinfo=timezone.utc)
MESSAGES_PATH = rf"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages\.json"


def make_backend(fake_provider=None, **credentials: str) -> TwilioBackend:
    account = AccountConfig(
        id=1,
        provider="twilio",
        phone_number=MANIFEST["phone_number"],
        credentials={**CREDENTIALS, **credentials},
        api_base_url=fake_provider.url if fake_provider else "",
        webhook_url=WEBHOOK_URL,
    )
    return TwilioBackend(account, now=lambda: NOW)


def form_request(body: bytes, *, url: str = WEBHOOK_URL, signed: bool = True, headers: dict | None = None,
                 query: list | None = None) -> WebhookRequest:
    form = parse_qsl(body.decode(), keep_blank_values=True)
    all_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        signed_url = url + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        all_headers.update(sign_request(credentials=CREDENTIALS, url=signed_url, body=body, form=form))
    all_headers.update(headers or {})
    return WebhookRequest("POST", url, CaseInsensitiveDict(all_headers), body, query=query or [], form=form)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


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
    body = (FIXTURES / entry["file"]).read_bytes()
    request = form_request(body)
    backend = make_backend()

    backend.verify(request)
    events = backend.parse(request)

    assert [describe(event) for event in events] == entry["expect"]
    assert all(event.timestamp == NOW for event in events)  # Twilio sends no time: receipt time


def test_fixtures_are_addressed_to_the_manifest_number_and_end_without_a_newline():
    for entry in MANIFEST["fixtures"]:
        body = (FIXTURES / entry["file"]).read_bytes()
        assert not body.endswith(b"\n"), entry["file"]
        params = dict(parse_qsl(body.decode()))
        ours = "whatsapp:" + MANIFEST["phone_number"]
        # Inbound messages are sent To our number; status callbacks report a message From it.
        assert ours in (params["To"], params["From"]), entry["file"]


def test_an_image_keeps_its_url_content_type_caption_and_profile_name():
    [message] = make_backend().parse(form_request((FIXTURES / "image.form").read_bytes()))

    assert message.kind is MessageKind.IMAGE
    assert message.text == "Look at this"
    assert message.customer_name == "Ana Souza"
    assert message.media.content_type == "image/jpeg"
    assert message.media.url.startswith(f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM")


def test_two_media_become_two_messages_with_the_caption_on_the_first():
    first, second = make_backend().parse(form_request((FIXTURES / "two_media.form").read_bytes()))

    assert (first.text, second.text) == ("Both receipts", "")
    assert second.provider_message_id == first.provider_message_id + ":1"
    assert first.media.url != second.media.url
    assert second.media.content_type == "image/png"


def test_a_location_carries_its_coordinates_and_label():
    [message] = make_backend().parse(form_request((FIXTURES / "location.form").read_bytes()))

    assert message.location == {
        "latitude": -23.5505199,
        "longitude": -46.6333094,
        "name": "Sé",
        "address": "Praça da Sé, São Paulo",
    }


def test_a_button_reply_reads_as_its_button_text_and_points_at_our_message():
    [message] = make_backend().parse(form_request((FIXTURES / "interactive.form").read_bytes()))

    assert message.kind is MessageKind.TEXT
    assert message.text == "Talk to an agent"
    assert message.reply_to == "SMOUT00000000000000000000000000001"
    assert message.raw_type == "button"


def test_a_window_failure_carries_twilios_code_as_a_string_and_a_readable_message():
    [status] = make_backend().parse(form_request((FIXTURES / "status_failed_63016.form").read_bytes()))

    assert status.status is DeliveryStatus.FAILED
    assert status.error_code == "63016"
    assert status.error_message


def test_a_failure_with_an_error_message_keeps_it():
    body = b"MessageSid=SMOUT1&MessageStatus=failed&ErrorCode=30008&ErrorMessage=Unknown+error"
    [status] = make_backend().parse(form_request(body))

    assert (status.error_code, status.error_message) == ("30008", "Unknown error")


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("image/jpeg", MessageKind.IMAGE),
        ("image/webp", MessageKind.STICKER),
        ("video/mp4", MessageKind.VIDEO),
        ("audio/ogg", MessageKind.VOICE),
        ("audio/ogg; codecs=opus", MessageKind.VOICE),
        ("audio/mpeg", MessageKind.AUDIO),
        ("application/pdf", MessageKind.DOCUMENT),
        ("text/vcard", MessageKind.DOCUMENT),
    ],
)
def test_the_media_kind_follows_the_content_type(content_type, kind):
    body = (
        "MessageSid=MM1&From=whatsapp%3A%2B15551234567&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm"
        f"&MediaContentType0={content_type.replace(' ', '+').replace(';', '%3B').replace('/', '%2F')}"
    ).encode()
    [message] = make_backend().parse(form_request(body))

    assert message.kind is kind


def test_a_queued_callback_is_reported_as_queued_and_an_unknown_status_is_ignored():
    backend = make_backend()
    [queued] = backend.parse(form_request(b"MessageSid=SMOUT1&MessageStatus=sending&SmsStatus=sending"))

    assert queued.status is DeliveryStatus.QUEUED
    assert backend.parse(form_request(b"MessageSid=SMOUT1&MessageStatus=partially_delivered")) == []


def test_an_inbound_message_with_nothing_readable_is_kept_as_unsupported():
    body = b"MessageSid=SM9&From=whatsapp%3A%2B15551234567&Body=&NumMedia=0&MessageType=reaction&SmsStatus=received"
    [message] = make_backend().parse(form_request(body))

    assert message.kind is MessageKind.UNSUPPORTED
    assert message.raw_type == "reaction"


def test_a_request_without_message_sid_is_a_payload_error():
    with pytest.raises(PayloadError):
        make_backend().parse(form_request(b"From=whatsapp%3A%2B15551234567&Body=hi"))


def test_a_request_with_a_non_numeric_media_count_is_a_payload_error():
    with pytest.raises(PayloadError):
        make_backend().parse(form_request(b"MessageSid=SM1&From=whatsapp%3A%2B15551234567&NumMedia=lots"))


def test_the_event_id_tells_a_redelivered_callback_from_the_next_status():
    backend = make_backend()
    delivered = form_request((FIXTURES / "status_delivered.form").read_bytes())
    read = form_request((FIXTURES / "status_read.form").read_bytes())
    inbound = form_request((FIXTURES / "text.form").read_bytes())

    assert backend.event_id(delivered) == "SMOUT00000000000000000000000000001:delivered"
    assert backend.event_id(delivered) == backend.event_id(form_request((FIXTURES / "status_delivered.form").read_bytes()))
    assert backend.event_id(read) != backend.event_id(delivered)
    assert backend.event_id(inbound) == "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0:received"


def test_the_ack_is_an_empty_twiml_response():
    reply = make_backend().ack(form_request(b"MessageSid=SM1"))

    assert reply.status == 200
    assert reply.content_type == "text/xml"
    assert reply.body == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# ----- webhooks: signatures -----------------------------------------------------------------
def test_the_published_twilio_vector_is_reproduced():
    body = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
    request = WebhookRequest(
        "POST",
        "https://mycompany.com/myapp.php",
        CaseInsensitiveDict({"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}),
        body,
        query=[("foo", "1"), ("bar", "2")],
        form=parse_qsl(body.decode()),
    )
    account = AccountConfig(id=1, provider="twilio", phone_number="+15550001111",
                            credentials={"account_sid": ACCOUNT_SID, "auth_token": "12345"})

    TwilioBackend(account).verify(request)  # does not raise


def test_the_published_vector_also_passes_with_the_default_port_added_or_configured():
    body = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
    account = AccountConfig(id=1, provider="twilio", phone_number="+15550001111",
                            credentials={"account_sid": ACCOUNT_SID, "auth_token": "12345"})
    # The URL configured with :443 while Twilio signed it without the port.
    request = WebhookRequest(
        "POST",
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        CaseInsensitiveDict({"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="}),
        body,
        form=parse_qsl(body.decode()),
    )

    TwilioBackend(account).verify(request)  # does not raise


def test_a_signature_made_with_the_default_port_is_accepted_for_a_url_without_it():
    body = (FIXTURES / "text.form").read_bytes()
    form = parse_qsl(body.decode(), keep_blank_values=True)
    headers = sign_request(credentials=CREDENTIALS, url="https://example.test:443/webhooks/tok/", body=body, form=form)

    make_backend().verify(form_request(body, signed=False, headers=headers))  # does not raise


def test_a_repeated_parameter_is_signed_with_all_its_values_in_order():
    body = b"MessageSid=SM1&Tag=zeta&Body=hi&Tag=alpha"
    request = form_request(body)

    make_backend().verify(request)  # does not raise
    # Signing only one value of the repeated name, as a dict would, must not pass.
    one_value = sign_request(credentials=CREDENTIALS, url=WEBHOOK_URL, body=body,
                             form=list(dict(parse_qsl(body.decode())).items()))
    with pytest.raises(SignatureError):
        make_backend().verify(form_request(body, signed=False, headers=one_value))


def test_query_parameters_are_signed_in_the_url_and_not_as_params():
    body = (FIXTURES / "text.form").read_bytes()

    make_backend().verify(form_request(body, query=[("account", "7")]))  # does not raise


def test_a_bad_signature_is_refused():
    request = form_request((FIXTURES / "text.form").read_bytes(), signed=False,
                           headers={"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8="})

    with pytest.raises(SignatureError):
        make_backend().verify(request)


def test_a_missing_signature_is_refused():
    with pytest.raises(SignatureError):
        make_backend().verify(form_request((FIXTURES / "text.form").read_bytes(), signed=False))


def test_a_signature_for_another_url_is_refused():
    body = (FIXTURES / "text.form").read_bytes()
    headers = sign_request(credentials=CREDENTIALS, url="https://example.test/webhooks/tok", body=body)  # no slash

    with pytest.raises(SignatureError):
        make_backend().verify(form_request(body, signed=False, headers=headers))


def test_a_tampered_body_is_refused():
    body = (FIXTURES / "text.form").read_bytes()
    headers = sign_request(credentials=CREDENTIALS, url=WEBHOOK_URL, body=body)

    with pytest.raises(SignatureError):
        make_backend().verify(form_request(body.replace(b"Hello", b"Hullo"), signed=False, headers=headers))


def test_a_json_body_is_checked_against_its_signed_sha256():
    body = b'{"MessageSid":"SM1"}'
    digest = hashlib.sha256(body).hexdigest()
    query = [("bodySHA256", digest)]
    headers = sign_request(credentials=CREDENTIALS, url=f"{WEBHOOK_URL}?bodySHA256={digest}", body=b"", form=[])
    request = WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict({"Content-Type": "application/json", **headers}),
                             body, query=query)
    make_backend().verify(request)  # does not raise

    tampered = WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict(headers), b'{"MessageSid":"SM2"}', query=query)
    with pytest.raises(SignatureError):
        make_backend().verify(tampered)


# ----- credentials --------------------------------------------------------------------------
def test_valid_credentials_are_cleaned():
    cleaned = TwilioBackend.validate_credentials({**CREDENTIALS, "auth_token": "  spaced  "})

    assert cleaned == {"account_sid": ACCOUNT_SID, "auth_token": "spaced"}


def test_an_account_sid_must_start_with_ac():
    with pytest.raises(CredentialsError) as excinfo:
        TwilioBackend.validate_credentials({**CREDENTIALS, "account_sid": "SK0123"})

    assert set(excinfo.value.errors) == {"account_sid"}


def test_a_missing_auth_token_and_a_bad_service_sid_are_both_named():
    with pytest.raises(CredentialsError) as excinfo:
        TwilioBackend.validate_credentials({"account_sid": ACCOUNT_SID, "messaging_service_sid": "XX1"})

    assert set(excinfo.value.errors) == {"auth_token", "messaging_service_sid"}


def test_a_messaging_service_sid_must_start_with_mg():
    with pytest.raises(CredentialsError) as excinfo:
        TwilioBackend.validate_credentials({**CREDENTIALS, "messaging_service_sid": "XX1"})

    assert set(excinfo.value.errors) == {"messaging_service_sid"}


def test_the_auth_token_is_the_secret_field():
    assert TwilioBackend.secret_fields() == {"auth_token"}


# ----- sending ------------------------------------------------------------------------------
def created(sid: str = "SMOUT00000000000000000000000000001", status: str = "queued") -> tuple:
    return 201, {"sid": sid, "status": status, "error_code": None, "error_message": None, "num_media": "0"}


def check_common(req, *, from_: str | None = "whatsapp:+15550001111") -> dict:
    assert req.header("Authorization") == basic(ACCOUNT_SID, CREDENTIALS["auth_token"])
    assert req.header("Content-Type").startswith("application/x-www-form-urlencoded")
    form = req.form_dict()
    assert form["To"] == "whatsapp:+15557654321"
    assert form["StatusCallback"] == WEBHOOK_URL
    if from_:
        assert form["From"] == from_
        assert "MessagingServiceSid" not in form
    return form


def test_a_text_is_posted_as_a_form_with_from_and_status_callback(fake_provider):
    def handler(req, match):
        form = check_common(req)
        assert form["Body"] == "Olá, tudo bem?"
        assert "MediaUrl" not in form and "ContentSid" not in form
        return created()

    fake_provider.route("POST", MESSAGES_PATH, handler)

    result = make_backend(fake_provider).send_text(to="+15557654321", text="Olá, tudo bem?")

    assert result.provider_message_id == "SMOUT00000000000000000000000000001"
    assert result.status is DeliveryStatus.QUEUED
    fake_provider.assert_clean()


def test_a_messaging_service_replaces_from(fake_provider):
    def handler(req, match):
        form = check_common(req, from_=None)
        assert form["MessagingServiceSid"] == "MG0123456789abcdef0123456789abcdef"
        assert "From" not in form
        return created(status="accepted")

    fake_provider.route("POST", MESSAGES_PATH, handler)

    backend = make_backend(fake_provider, messaging_service_sid="MG0123456789abcdef0123456789abcdef")
    result = backend.send_text(to="+15557654321", text="hi")

    assert result.status is DeliveryStatus.QUEUED
    fake_provider.assert_clean()


def test_media_is_sent_by_url_with_the_caption_as_body(fake_provider):
    def handler(req, match):
        form = check_common(req)
        assert form["MediaUrl"] == "https://files.example.test/a.pdf"
        assert form["Body"] == "Your invoice"
        return created("MMOUT00000000000000000000000000001")

    fake_provider.route("POST", MESSAGES_PATH, handler)

    media = OutboundMedia(url="https://files.example.test/a.pdf", content_type="application/pdf", filename="a.pdf")
    result = make_backend(fake_provider).send_media(to="+15557654321", media=media, caption="Your invoice")

    assert result.provider_message_id == "MMOUT00000000000000000000000000001"
    fake_provider.assert_clean()


def test_media_without_a_caption_has_no_body(fake_provider):
    def handler(req, match):
        form = check_common(req)
        assert "Body" not in form
        return created()

    fake_provider.route("POST", MESSAGES_PATH, handler)

    media = OutboundMedia(url="https://files.example.test/a.jpg", content_type="image/jpeg", kind=MessageKind.IMAGE)
    make_backend(fake_provider).send_media(to="+15557654321", media=media)
    fake_provider.assert_clean()


def test_a_template_is_sent_as_content_sid_and_numbered_variables_without_body(fake_provider):
    def handler(req, match):
        form = check_common(req)
        assert form["ContentSid"] == "HX0123456789abcdef0123456789abcdef"
        assert json.loads(form["ContentVariables"]) == {"1": "Ana", "2": "#1234"}
        assert "Body" not in form and "MediaUrl" not in form
        return created()

    fake_provider.route("POST", MESSAGES_PATH, handler)

    template = TemplateMessage(name="order_update", language="pt_BR", body_params=["Ana", "#1234"],
                               provider_template_id="HX0123456789abcdef0123456789abcdef")
    make_backend(fake_provider).send_template(to="+15557654321", template=template)
    fake_provider.assert_clean()


def test_a_template_without_a_content_sid_fails_permanently_without_a_request(fake_provider):
    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_template(to="+15557654321", template=TemplateMessage("welcome", "en"))

    assert excinfo.value.code == "template_not_synced"
    assert excinfo.value.permanent
    assert fake_provider.requests == []


def test_an_invalid_number_error_is_permanent_with_twilios_code(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (400, {
        "code": 21211, "message": "The 'To' number is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    error = excinfo.value
    assert (error.code, error.permanent, error.window_closed, error.http_status) == ("21211", True, False, 400)
    assert "not a valid phone number" in error.message
    fake_provider.assert_clean()


def test_a_rate_limit_is_retryable_after_the_advertised_delay(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (429, {"code": 20429, "message": "Too Many Requests", "status": 429},
                                                {"Retry-After": "7"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert (excinfo.value.code, excinfo.value.permanent, excinfo.value.retry_after) == ("20429", False, 7.0)


def test_twilios_throttling_code_is_retryable_whatever_the_http_status(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (400, {"code": 20429, "message": "Too Many Requests"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert not excinfo.value.permanent


def test_a_server_error_is_retryable(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (503, "Service Unavailable"))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert not excinfo.value.permanent
    assert excinfo.value.http_status == 503


def test_a_window_error_is_flagged_window_closed(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (400, {"code": 63016, "message": "Outside messaging window."}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert excinfo.value.window_closed
    assert excinfo.value.code == "63016"


def test_an_answer_without_a_sid_is_not_retried(fake_provider):
    fake_provider.route("POST", MESSAGES_PATH, (201, {"status": "queued"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).send_text(to="+15557654321", text="hi")

    assert excinfo.value.permanent


# ----- media --------------------------------------------------------------------------------
MEDIA_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM2a1b3c4d5e6f708192a3b4c5d6e7f801/Media/ME2a1b3c4d5e6f708192a3b4c5d6e7f801"


def test_media_is_fetched_with_basic_auth_from_the_rebased_url(fake_provider):
    def handler(req, match):
        assert req.header("Authorization") == basic(ACCOUNT_SID, CREDENTIALS["auth_token"])
        return 200, b"\xff\xd8jpeg", {"Content-Type": "image/jpeg"}

    fake_provider.route("GET", MEDIA_PATH, handler)
    [message] = make_backend().parse(form_request((FIXTURES / "image.form").read_bytes()))

    fetched = make_backend(fake_provider).fetch_media(message.media)

    assert (fetched.content, fetched.content_type) == (b"\xff\xd8jpeg", "image/jpeg")
    fake_provider.assert_clean()


def test_media_follows_a_redirect_to_the_cdn(fake_provider):
    def media(req, match):
        assert req.header("Authorization") == basic(ACCOUNT_SID, CREDENTIALS["auth_token"])
        return 307, b"", {"Location": f"{fake_provider.url}/cdn/files/abc.ogg"}

    fake_provider.route("GET", MEDIA_PATH, media)
    fake_provider.route("GET", r"/cdn/files/abc\.ogg", (200, b"OggS voice", {"Content-Type": "audio/ogg"}))

    ref = MediaRef(url=f"https://api.twilio.com{MEDIA_PATH}", content_type="audio/ogg")
    fetched = make_backend(fake_provider).fetch_media(ref)

    assert (fetched.content, fetched.content_type) == (b"OggS voice", "audio/ogg")
    assert [r.path for r in fake_provider.requests] == [MEDIA_PATH, "/cdn/files/abc.ogg"]
    fake_provider.assert_clean()


def test_a_missing_media_file_is_a_permanent_error(fake_provider):
    fake_provider.route("GET", MEDIA_PATH, (404, {"code": 20404, "message": "The requested resource was not found"}))

    with pytest.raises(ProviderError) as excinfo:
        make_backend(fake_provider).fetch_media(MediaRef(url=f"https://api.twilio.com{MEDIA_PATH}"))

    assert (excinfo.value.code, excinfo.value.permanent) == ("20404", True)
