"""Meta Cloud API backend: webhooks, parsing, sends, errors, media and templates (PROTOCOLS.md §1)."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from apps.providers.base import AccountConfig, CaseInsensitiveDict, WebhookRequest
from apps.providers.meta import MetaBackend
from apps.providers.types import (
    CredentialsError,
    DeliveryStatus,
    InboundMessage,
    MediaRef,
    MessageKind,
    OutboundMedia,
    ParsedEvent,
    PayloadError,
    ProviderError,
    SignatureError,
    StatusUpdate,
    TemplateMessage,
    TemplateStatus,
)
from tests.providers.signing_meta import sign_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "meta"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CREDENTIALS: dict[str, str] = MANIFEST["credentials"]
WEBHOOK_URL = "https://instant.example/webhooks/meta/abc123/"
VERSION = CREDENTIALS["api_version"]
PNID = CREDENTIALS["phone_number_id"]
TOKEN = CREDENTIALS["access_token"]


# ----- helpers (also used by the Kaleyra tests) -----------------------------------------------------
def event_summary(event: ParsedEvent) -> dict[str, Any]:
    """An event in the manifest's ``expect`` shape."""
    if isinstance(event, InboundMessage):
        return {
            "type": "message",
            "kind": event.kind.value,
            "text": event.text,
            "customer_phone": event.customer_phone,
            "customer_user_id": event.customer_user_id,
            "provider_message_id": event.provider_message_id,
            "has_media": event.media is not None,
        }
    if isinstance(event, StatusUpdate):
        return {
            "type": "status",
            "provider_message_id": event.provider_message_id,
            "status": event.status.value,
            "error_code": event.error_code,
        }
    assert isinstance(event, TemplateStatus)
    return {"type": "template", "name": event.name, "language": event.language, "status": event.status}


def post(body: bytes, headers: dict[str, str] | None = None, content_type: str = "application/json") -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        url=WEBHOOK_URL,
        headers=CaseInsensitiveDict({"Content-Type": content_type, **(headers or {})}),
        body=body,
    )


def signed(body: bytes, credentials: dict[str, str] = CREDENTIALS) -> WebhookRequest:
    return post(body, sign_request(credentials=credentials, url=WEBHOOK_URL, body=body))


def get(query: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="GET", url=WEBHOOK_URL, headers=CaseInsensitiveDict({}), body=b"", query=list(query.items()))


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_backend(base_url: str = "", **credentials: str) -> MetaBackend:
    config = AccountConfig(
        id=1,
        provider="meta",
        phone_number=MANIFEST["phone_number"],
        credentials={**CREDENTIALS, **credentials},
        api_base_url=base_url,
        webhook_url=WEBHOOK_URL,
    )
    return MetaBackend(config)


def parse_fixture(name: str) -> list[ParsedEvent]:
    backend = make_backend()
    request = signed(fixture_bytes(name))
    backend.verify(request)
    return backend.parse(request)


def graph_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


# ----- fixtures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", MANIFEST["fixtures"], ids=[e["file"] for e in MANIFEST["fixtures"]])
def test_every_fixture_parses_to_what_the_manifest_expects(entry: dict) -> None:
    assert entry["method"] == "POST"
    events = parse_fixture(entry["file"])
    assert [event_summary(e) for e in events] == entry["expect"]


def test_every_fixture_file_is_listed_in_the_manifest() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.name != "manifest.json"}
    assert on_disk == {e["file"] for e in MANIFEST["fixtures"]}


def test_status_fixtures_refer_to_the_outbound_message() -> None:
    for name in ("status_sent.json", "status_delivered.json", "status_read.json", "status_failed_131047.json"):
        (update,) = parse_fixture(name)
        assert isinstance(update, StatusUpdate)
        assert update.provider_message_id == "wamid.OUT1"


# ----- parsing details --------------------------------------------------------------------------
def test_voice_note_is_parsed_as_voice() -> None:
    (message,) = parse_fixture("voice.json")
    assert message.kind is MessageKind.VOICE
    assert message.media == MediaRef(
        media_id="VOICEMEDIA0000000001",
        content_type="audio/ogg; codecs=opus",
        sha256="2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    )


def test_audio_without_the_voice_flag_stays_audio() -> None:
    (message,) = parse_fixture("audio.json")
    assert message.kind is MessageKind.AUDIO


def test_image_caption_becomes_the_text_and_the_media_url_is_kept() -> None:
    (message,) = parse_fixture("image.json")
    assert message.text == "Broken screen"
    assert message.media.media_id == "IMAGEMEDIA0000000001"
    assert message.media.url.startswith("https://lookaside.fbsbx.com/")
    assert message.media.content_type == "image/jpeg"


def test_document_keeps_its_filename_and_caption() -> None:
    (message,) = parse_fixture("document.json")
    assert message.kind is MessageKind.DOCUMENT
    assert message.text == "My invoice"
    assert message.media.filename == "invoice-2026-001.pdf"
    assert message.media.content_type == "application/pdf"


def test_location_is_parsed_into_a_dict() -> None:
    (message,) = parse_fixture("location.json")
    assert message.location == {
        "latitude": 45.4642,
        "longitude": 9.19,
        "name": "Duomo di Milano",
        "address": "Piazza del Duomo, Milano",
    }


def test_timestamps_are_aware_utc_datetimes_from_the_string_seconds() -> None:
    (message,) = parse_fixture("text.json")
    assert message.timestamp == datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


def test_customer_name_comes_from_the_matching_contact() -> None:
    (message,) = parse_fixture("text.json")
    assert message.customer_name == "Alice Example"
    assert message.customer_phone == "+15551234567"


def test_a_username_only_customer_is_keyed_on_the_business_scoped_user_id() -> None:
    (message,) = parse_fixture("bsuid_text.json")
    assert message.customer_phone == ""
    assert message.customer_user_id == "US.1000000000000000001"
    assert message.customer_name == "Bea"


def test_a_user_id_next_to_a_phone_is_kept_too() -> None:
    payload = json.loads(fixture_bytes("text.json"))
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["from_user_id"] = "US.42"
    (message,) = make_backend().parse(post(json.dumps(payload).encode()))
    assert message.customer_phone == "+15551234567"
    assert message.customer_user_id == "US.42"


def test_reaction_is_kept_as_unsupported_pointing_at_the_reacted_message() -> None:
    (message,) = parse_fixture("reaction.json")
    assert message.kind is MessageKind.UNSUPPORTED
    assert message.raw_type == "reaction"
    assert message.reply_to == "wamid.OUT1"


def test_interactive_and_button_replies_are_unsupported_with_their_title() -> None:
    payload = json.loads(fixture_bytes("text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    base = value["messages"][0]
    value["messages"] = [
        {**base, "id": "wamid.I1", "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}}},
        {**base, "id": "wamid.I2", "type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
        {**base, "id": "wamid.I3", "type": "order", "order": {"catalog_id": "1", "product_items": [{}, {}]}},
        {**base, "id": "wamid.I4", "type": "brand_new_type", "brand_new_type": {}},
    ]
    for message in value["messages"]:
        message.pop("text", None)
    events = make_backend().parse(post(json.dumps(payload).encode()))
    assert [(e.kind, e.raw_type, e.text) for e in events] == [
        (MessageKind.UNSUPPORTED, "interactive", "Yes please"),
        (MessageKind.UNSUPPORTED, "button", "Stop promotions"),
        (MessageKind.UNSUPPORTED, "order", "Order with 2 item(s)"),
        (MessageKind.UNSUPPORTED, "brand_new_type", ""),
    ]


def test_a_reply_keeps_the_id_of_the_message_it_answers() -> None:
    events = parse_fixture("batch.json")
    assert [getattr(e, "reply_to", None) for e in events] == ["", "wamid.OUT1", None]


def test_a_failed_status_without_contacts_carries_code_and_message() -> None:
    (update,) = parse_fixture("status_failed_131047.json")
    assert update.status is DeliveryStatus.FAILED
    assert update.error_code == "131047"
    assert "Re-engagement message" in update.error_message
    assert "24 hours" in update.error_message


def test_every_entry_and_change_of_a_batch_is_parsed() -> None:
    text = json.loads(fixture_bytes("text.json"))
    status = json.loads(fixture_bytes("status_read.json"))
    text["entry"].append(status["entry"][0])
    text["entry"][0]["changes"].append(status["entry"][0]["changes"][0])
    events = make_backend().parse(post(json.dumps(text).encode()))
    assert [type(e).__name__ for e in events] == ["InboundMessage", "StatusUpdate", "StatusUpdate"]


def test_changes_for_another_phone_number_are_skipped() -> None:
    payload = json.loads(fixture_bytes("text.json"))
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999999999"
    assert make_backend().parse(post(json.dumps(payload).encode())) == []


def test_template_status_update_carries_id_as_a_string() -> None:
    (template,) = parse_fixture("template_status_approved.json")
    assert template == TemplateStatus(
        name="order_update", language="en_US", status="approved", provider_template_id="1234567890123456", reason=""
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [("REJECTED", "rejected"), ("PAUSED", "paused"), ("DISABLED", "disabled"), ("PENDING", "pending")],
)
def test_template_events_map_to_neutral_states(event: str, expected: str) -> None:
    payload = json.loads(fixture_bytes("template_status_approved.json"))
    payload["entry"][0]["changes"][0]["value"].update(event=event, reason="INVALID_FORMAT")
    (template,) = make_backend().parse(post(json.dumps(payload).encode()))
    assert template.status == expected
    assert template.reason == "INVALID_FORMAT"


def test_unknown_template_events_are_skipped_safely() -> None:
    payload = json.loads(fixture_bytes("template_status_approved.json"))
    payload["entry"][0]["changes"][0]["value"]["event"] = "ARCHIVED"
    assert make_backend().parse(post(json.dumps(payload).encode())) == []


def test_unknown_status_values_and_fields_are_ignored() -> None:
    payload = json.loads(fixture_bytes("status_read.json"))
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "played"
    payload["entry"][0]["changes"].append({"field": "message_template_quality_update", "value": {"x": 1}})
    assert make_backend().parse(post(json.dumps(payload).encode())) == []


def test_malformed_json_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        make_backend().parse(post(b'{"object": "whatsapp_business_account", "entry": ['))


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {"id": "1"}},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {"messages": "nope"}}]}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {"messages": [{"from": "1"}]}}]}]},
    ],
)
def test_a_body_of_the_wrong_shape_is_a_payload_error(payload: Any) -> None:
    with pytest.raises(PayloadError):
        make_backend().parse(post(json.dumps(payload).encode()))


# ----- webhook authentication -------------------------------------------------------------------
def test_a_correct_signature_is_accepted() -> None:
    make_backend().verify(signed(fixture_bytes("text.json")))


def test_a_bad_signature_is_refused() -> None:
    body = fixture_bytes("text.json")
    request = signed(body, {**CREDENTIALS, "app_secret": "someone-else"})
    with pytest.raises(SignatureError):
        make_backend().verify(request)


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(SignatureError):
        make_backend().verify(post(fixture_bytes("text.json")))


def test_a_signature_with_the_access_token_as_key_is_refused() -> None:
    body = fixture_bytes("text.json")
    digest = hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(SignatureError):
        make_backend().verify(post(body, {"X-Hub-Signature-256": f"sha256={digest}"}))


def test_the_signature_covers_the_raw_escaped_bytes_not_a_reserialisation() -> None:
    raw = fixture_bytes("text.json").replace(b'"Hello"', b'"Caf\\u00e9 at https:\\/\\/example.com"')
    backend = make_backend()
    backend.verify(signed(raw))
    (message,) = backend.parse(signed(raw))
    assert message.text == "Café at https://example.com"

    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    genuine_headers = sign_request(credentials=CREDENTIALS, url=WEBHOOK_URL, body=raw)
    with pytest.raises(SignatureError):
        backend.verify(post(reserialised, genuine_headers))


def test_the_handshake_echoes_the_challenge_when_the_token_matches() -> None:
    reply = make_backend().handshake(
        get({"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": CREDENTIALS["verify_token"]})
    )
    assert (reply.status, reply.body, reply.content_type) == (200, "1158201444", "text/plain")


def test_the_handshake_is_refused_when_the_token_differs() -> None:
    reply = make_backend().handshake(get({"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "guess"}))
    assert reply.status == 403


def test_a_post_is_not_a_handshake() -> None:
    assert make_backend().handshake(signed(fixture_bytes("text.json"))) is None


def test_a_get_that_is_not_a_valid_handshake_fails_verification() -> None:
    with pytest.raises(SignatureError):
        make_backend().verify(get({"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}))
    with pytest.raises(SignatureError):
        make_backend().verify(get({}))


# ----- credentials ------------------------------------------------------------------------------
def test_credentials_default_the_graph_version() -> None:
    cleaned = MetaBackend.validate_credentials({k: v for k, v in CREDENTIALS.items() if k != "api_version"})
    assert cleaned["api_version"].startswith("v")


def test_missing_and_unknown_credentials_are_named() -> None:
    with pytest.raises(CredentialsError) as caught:
        MetaBackend.validate_credentials({"phone_number_id": "1", "account_sid": "AC1"})
    assert set(caught.value.errors) == {"waba_id", "access_token", "app_secret", "verify_token", "account_sid"}


def test_the_secret_credentials_are_masked() -> None:
    assert MetaBackend.secret_fields() == {"access_token", "app_secret", "verify_token"}


# ----- sending ----------------------------------------------------------------------------------
def messages_route(fake_provider, check) -> None:
    def handler(request, match):
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.header("Content-Type").startswith("application/json")
        check(request.json())
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "+15551234567", "wa_id": "15551234567"}],
            "messages": [{"id": "wamid.OUT1"}],
        }

    fake_provider.route("POST", rf"/{VERSION}/{PNID}/messages", handler)


def test_send_text_posts_the_documented_body_with_bearer(fake_provider) -> None:
    def check(body):
        assert body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "15551234567",
            "type": "text",
            "text": {"preview_url": False, "body": "Hello there"},
        }

    messages_route(fake_provider, check)
    result = make_backend(fake_provider.url).send_text(to="+15551234567", text="Hello there")
    assert result.provider_message_id == "wamid.OUT1"
    fake_provider.assert_clean()


def test_send_text_to_a_business_scoped_user_id_sends_it_unchanged(fake_provider) -> None:
    def check(body):
        assert body["to"] == "US.1000000000000000001"

    messages_route(fake_provider, check)
    make_backend(fake_provider.url).send_text(to="US.1000000000000000001", text="Hi")
    fake_provider.assert_clean()


def test_send_image_links_the_media_with_its_caption(fake_provider) -> None:
    def check(body):
        assert body["type"] == "image"
        assert body["to"] == "15551234567"
        assert body["image"] == {"link": "https://cdn.example/a.jpg", "caption": "Look"}

    messages_route(fake_provider, check)
    media = OutboundMedia(url="https://cdn.example/a.jpg", content_type="image/jpeg", kind=MessageKind.IMAGE)
    make_backend(fake_provider.url).send_media(to="+15551234567", media=media, caption="Look")
    fake_provider.assert_clean()


def test_send_document_carries_the_filename(fake_provider) -> None:
    def check(body):
        assert body["document"] == {"link": "https://cdn.example/i.pdf", "caption": "Invoice", "filename": "invoice.pdf"}

    messages_route(fake_provider, check)
    media = OutboundMedia(url="https://cdn.example/i.pdf", content_type="application/pdf", filename="invoice.pdf", kind=MessageKind.DOCUMENT)
    make_backend(fake_provider.url).send_media(to="+15551234567", media=media, caption="Invoice")
    fake_provider.assert_clean()


def test_send_audio_drops_the_caption(fake_provider) -> None:
    def check(body):
        assert body["type"] == "audio"
        assert body["audio"] == {"link": "https://cdn.example/v.ogg"}

    messages_route(fake_provider, check)
    media = OutboundMedia(url="https://cdn.example/v.ogg", content_type="audio/ogg", kind=MessageKind.VOICE)
    make_backend(fake_provider.url).send_media(to="+15551234567", media=media, caption="ignored")
    fake_provider.assert_clean()


def test_send_template_uses_language_code_and_text_parameters(fake_provider) -> None:
    def check(body):
        assert body["type"] == "template"
        assert body["template"] == {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "#42"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "Alice"}, {"type": "text", "text": "shipped"}]},
            ],
        }

    messages_route(fake_provider, check)
    template = TemplateMessage(name="order_update", language="en_US", body_params=["Alice", "shipped"], header_params=["#42"])
    result = make_backend(fake_provider.url).send_template(to="+15551234567", template=template)
    assert result.provider_message_id == "wamid.OUT1"
    fake_provider.assert_clean()


# ----- errors -----------------------------------------------------------------------------------
def send_expecting_error(fake_provider, answer: tuple) -> ProviderError:
    fake_provider.route("POST", rf"/{VERSION}/{PNID}/messages", answer)
    with pytest.raises(ProviderError) as caught:
        make_backend(fake_provider.url).send_text(to="+15551234567", text="Hi")
    fake_provider.assert_clean()
    return caught.value


def test_the_window_error_is_permanent_and_marked_window_closed(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (400, graph_error(131047, "Re-engagement message", "More than 24 hours have passed.")))
    assert (error.code, error.permanent, error.window_closed, error.http_status) == ("131047", True, True, 400)
    assert "More than 24 hours" in error.message


def test_a_429_is_retried_after_the_given_delay(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (429, graph_error(130429, "Rate limit hit"), {"Retry-After": "7"}))
    assert (error.code, error.permanent, error.retry_after) == ("130429", False, 7.0)


def test_a_server_error_is_retryable(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (500, {"error": {"message": "Service unavailable", "code": 2}}))
    assert not error.permanent


def test_an_expired_token_is_permanent(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (401, graph_error(190, "Access token has expired")))
    assert (error.code, error.permanent, error.window_closed) == ("190", True, False)


@pytest.mark.parametrize("code", [130429, 131056, 131000, 4, 80007])
def test_throttling_codes_are_retryable_even_with_http_400(fake_provider, code: int) -> None:
    error = send_expecting_error(fake_provider, (400, graph_error(code, "Try later")))
    assert (error.code, error.permanent) == (str(code), False)


def test_an_invalid_parameter_is_permanent(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (400, graph_error(100, "Invalid parameter")))
    assert (error.code, error.permanent) == ("100", True)


def test_a_non_json_error_is_a_server_error_that_keeps_the_http_status(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (502, "Bad gateway"))
    assert (error.code, error.permanent, error.http_status) == ("server_error", False, 502)
    assert error.message == "HTTP 502: Bad gateway"


# ----- media ------------------------------------------------------------------------------------
def test_fetch_media_takes_two_steps_with_bearer_on_both(fake_provider) -> None:
    def info(request, match):
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        return 200, {
            "messaging_product": "whatsapp",
            "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=VOICE1&hash=x",
            "mime_type": "audio/ogg",
            "sha256": "abc",
            "file_size": 5,
            "id": "VOICE1",
        }

    def download(request, match):
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.query.get("mid") == "VOICE1"
        return 200, b"OggS\x00", {"Content-Type": "application/octet-stream"}

    fake_provider.route("GET", rf"/{VERSION}/VOICE1", info)
    fake_provider.route("GET", r"/whatsapp_business/attachments/", download)
    fetched = make_backend(fake_provider.url).fetch_media(MediaRef(media_id="VOICE1", content_type="audio/ogg; codecs=opus"))
    assert fetched.content == b"OggS\x00"
    assert fetched.content_type == "audio/ogg"
    assert fetched.filename.startswith("VOICE1")
    assert [r.path for r in fake_provider.requests] == [f"/{VERSION}/VOICE1", "/whatsapp_business/attachments/"]
    fake_provider.assert_clean()


def test_fetch_media_with_a_url_in_the_payload_still_sends_bearer(fake_provider) -> None:
    def download(request, match):
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        return 200, b"%PDF-1.7", {"Content-Type": "application/pdf"}

    fake_provider.route("GET", r"/whatsapp_business/attachments/", download)
    media = MediaRef(media_id="DOC1", url="https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=DOC1", content_type="application/pdf", filename="a.pdf")
    fetched = make_backend(fake_provider.url).fetch_media(media)
    assert (fetched.content, fetched.content_type, fetched.filename) == (b"%PDF-1.7", "application/pdf", "a.pdf")
    fake_provider.assert_clean()


def test_fetch_media_falls_back_to_the_media_id_when_the_payload_url_expired(fake_provider) -> None:
    fake_provider.route("GET", r"/old/link", (404, graph_error(100, "Gone")))
    fake_provider.route("GET", rf"/{VERSION}/IMG1", (200, {"url": "https://lookaside.fbsbx.com/new/link", "mime_type": "image/png"}))
    fake_provider.route("GET", r"/new/link", (200, b"\x89PNG", {"Content-Type": "image/png"}))
    fetched = make_backend(fake_provider.url).fetch_media(MediaRef(media_id="IMG1", url="https://lookaside.fbsbx.com/old/link"))
    assert (fetched.content, fetched.content_type, fetched.filename) == (b"\x89PNG", "image/png", "IMG1.png")


# ----- templates --------------------------------------------------------------------------------
def test_list_templates_follows_paging(fake_provider) -> None:
    waba = CREDENTIALS["waba_id"]

    def page(request, match):
        assert request.header("Authorization") == f"Bearer {TOKEN}"
        assert request.query["fields"] == "name,status,category,language,components"
        if request.query.get("after") == "CURSOR2":
            return 200, {"data": [{"name": "late_notice", "status": "REJECTED", "language": "it", "id": "3"}], "paging": {"cursors": {"before": "b", "after": "c"}}}
        assert request.query["limit"] == "100"
        next_url = f"https://graph.facebook.com/{VERSION}/{waba}/message_templates?fields=name,status,category,language,components&limit=100&after=CURSOR2"
        return 200, {
            "data": [
                {"name": "order_update", "status": "APPROVED", "category": "UTILITY", "language": "en_US", "id": "1", "components": []},
                {"name": "promo", "status": "PAUSED", "language": "en_US", "id": "2"},
                {"name": "weird", "status": "LIMIT_EXCEEDED", "language": "en_US", "id": "9"},
            ],
            "paging": {"cursors": {"before": "a", "after": "CURSOR2"}, "next": next_url},
        }

    fake_provider.route("GET", rf"/{VERSION}/{waba}/message_templates", page)
    templates = make_backend(fake_provider.url).list_templates()
    assert [(t.name, t.language, t.status, t.provider_template_id) for t in templates] == [
        ("order_update", "en_US", "approved", "1"),
        ("promo", "en_US", "paused", "2"),
        ("late_notice", "it", "rejected", "3"),
    ]
    assert len(fake_provider.requests) == 2
    fake_provider.assert_clean()


def test_the_backend_advertises_templates_and_campaigns() -> None:
    assert MetaBackend.supports_templates and MetaBackend.supports_campaigns
    assert MetaBackend.provider == "meta" and MetaBackend.label == "Meta Cloud API"
    assert MetaBackend.default_base_url == "https://graph.facebook.com"
    assert "131047" in MetaBackend.window_error_codes
