"""Kaleyra backend, WhatsApp API v2 and v1 (PROTOCOLS.md §4)."""
from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from apps.providers.base import AccountConfig, CaseInsensitiveDict, WebhookRequest
from apps.providers.kaleyra import KaleyraBackend
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
from tests.providers.signing_kaleyra import sign_request
from tests.providers.test_meta_backend import event_summary

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "kaleyra"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
CREDENTIALS: dict[str, str] = MANIFEST["credentials"]
SID = CREDENTIALS["sid"]
API_KEY = CREDENTIALS["api_key"]
WEBHOOK_URL = "https://instant.example/webhooks/kaleyra/k3y/"
FORM = "application/x-www-form-urlencoded"


def make_backend(base_url: str = "", **credentials: str) -> KaleyraBackend:
    config = AccountConfig(
        id=1,
        provider="kaleyra",
        phone_number=MANIFEST["phone_number"],
        credentials={**CREDENTIALS, **credentials},
        api_base_url=base_url,
        webhook_url=WEBHOOK_URL,
    )
    return KaleyraBackend(config)


def request_for(method: str, content_type: str, raw: bytes, credentials: dict[str, str] = CREDENTIALS) -> WebhookRequest:
    """A webhook request as the view would build it (GET: the raw bytes are the query string)."""
    headers = sign_request(credentials=credentials, url=WEBHOOK_URL, body=raw if method == "POST" else b"")
    if method == "GET":
        query = parse_qsl(raw.decode(), keep_blank_values=True)
        return WebhookRequest("GET", WEBHOOK_URL, CaseInsensitiveDict(headers), b"", query=query)
    form = parse_qsl(raw.decode(), keep_blank_values=True) if content_type == FORM else []
    return WebhookRequest("POST", WEBHOOK_URL, CaseInsensitiveDict({"Content-Type": content_type, **headers}), raw, form=form)


def post_json(payload: Any, **credentials: str) -> list[ParsedEvent]:
    backend = make_backend(**credentials)
    return backend.parse(request_for("POST", "application/json", json.dumps(payload).encode()))


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def parse_fixture(name: str) -> list[ParsedEvent]:
    entry = next(e for e in MANIFEST["fixtures"] if e["file"] == name)
    backend = make_backend()
    request = request_for(entry["method"], entry["content_type"], (FIXTURES / name).read_bytes())
    backend.verify(request)
    return backend.parse(request)


def multipart_fields(recorded) -> dict[str, tuple[str | None, str, bytes]]:
    """name → (filename, content type, payload) of a multipart/form-data body."""
    head = f"Content-Type: {recorded.header('Content-Type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + recorded.body)
    assert message.is_multipart(), "expected multipart/form-data"
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
    return fields


# ----- fixtures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", MANIFEST["fixtures"], ids=[e["file"] for e in MANIFEST["fixtures"]])
def test_every_fixture_parses_to_what_the_manifest_expects(entry: dict) -> None:
    assert [event_summary(e) for e in parse_fixture(entry["file"])] == entry["expect"]


def test_every_fixture_file_is_listed_in_the_manifest() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.name != "manifest.json"}
    assert on_disk == {e["file"] for e in MANIFEST["fixtures"]}


def test_the_published_sent_sample_really_is_invalid_json() -> None:
    with pytest.raises(ValueError):
        json.loads((FIXTURES / "v2_status_sent.json").read_text())


# ----- v2 parsing -------------------------------------------------------------------------------
def test_v2_media_is_downloaded_from_the_kaleyra_url() -> None:
    (message,) = parse_fixture("v2_image.json")
    assert message.media.url.endswith("/KIMAGE000000001.jpg")
    assert message.media.media_id == "KIMAGE000000001"
    assert message.media.content_type == "image/jpeg"
    assert message.customer_name == "Ravi Kumar"


def test_v2_voice_note_is_parsed_as_voice() -> None:
    (message,) = parse_fixture("v2_voice.json")
    assert message.kind is MessageKind.VOICE


def test_v2_document_keeps_filename_and_caption() -> None:
    (message,) = parse_fixture("v2_document.json")
    assert (message.text, message.media.filename) == ("Purchase bill", "bill-4411.pdf")


def test_v2_statuses_correlate_on_the_top_level_message_id() -> None:
    (update,) = parse_fixture("v2_status_read.json")
    assert update.provider_message_id == "wamid.KOUT1"
    assert fixture_json("v2_status_read.json")["meta_object"]["value"]["statuses"][0]["id"] != "wamid.KOUT1"


def test_v2_status_without_top_level_id_uses_the_meta_status_id() -> None:
    payload = fixture_json("v2_status_delivered.json")
    del payload["message_id"]
    del payload["extra_info"]["message_id"]
    (update,) = post_json(payload)
    assert update.provider_message_id == "9f1c2d3e4b5a69788796a5b4c3d2e1f0"


def test_v2_failed_status_passes_the_meta_window_code_through() -> None:
    (update,) = parse_fixture("v2_status_failed.json")
    assert (update.status, update.error_code) == (DeliveryStatus.FAILED, "131047")
    assert "24 hours" in update.error_message


def test_not_sent_is_a_failure() -> None:
    payload = fixture_json("v2_status_failed.json")
    payload["status"] = "not-sent"
    payload["meta_object"]["value"]["statuses"] = []
    (update,) = post_json(payload)
    assert (update.provider_message_id, update.status) == ("wamid.KOUT1", DeliveryStatus.FAILED)

    payload["meta_object"]["value"]["statuses"] = [{"id": "x", "status": "NOT-SENT", "timestamp": "1767225700"}]
    (update,) = post_json(payload)
    assert (update.provider_message_id, update.status) == ("wamid.KOUT1", DeliveryStatus.FAILED)


def test_v2_events_of_another_waba_are_skipped() -> None:
    payload = fixture_json("v2_text.json")
    payload["extra_info"]["waba_id"] = "999"
    assert post_json(payload) == []


def test_a_trailing_comma_is_tolerated_but_other_broken_json_is_a_payload_error() -> None:
    (update,) = parse_fixture("v2_status_sent.json")
    assert update.status is DeliveryStatus.SENT
    with pytest.raises(PayloadError):
        make_backend().parse(request_for("POST", "application/json", b'{"meta_object": {"value": '))


def test_a_v2_body_of_the_wrong_shape_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        post_json({"meta_object": {"field": "messages", "value": {"messages": [{"type": "text"}]}}})
    with pytest.raises(PayloadError):
        post_json({"meta_object": "nope"})
    with pytest.raises(PayloadError):
        post_json([1, 2])


def test_a_v2_template_change_is_parsed_like_meta() -> None:
    value = {"event": "REJECTED", "message_template_id": 55, "message_template_name": "promo", "message_template_language": "en", "reason": "INVALID_FORMAT"}
    (template,) = post_json({"meta_object": {"field": "message_template_status_update", "value": value}, "extra_info": {}})
    assert template == TemplateStatus(name="promo", language="en", status="rejected", provider_template_id="55", reason="INVALID_FORMAT")


# ----- v1 parsing -------------------------------------------------------------------------------
def test_v1_get_callback_is_read_from_the_query_string() -> None:
    (message,) = parse_fixture("v1_text.query")
    assert isinstance(message, InboundMessage)
    assert (message.customer_phone, message.customer_name, message.kind) == ("+919876543210", "Ravi Kumar", MessageKind.TEXT)
    assert message.timestamp.isoformat() == "2026-01-01T00:00:50+00:00"


def test_v1_json_callback_keeps_quotes_and_reads_a_space_separated_time() -> None:
    (message,) = parse_fixture("v1_text.json")
    assert message.text == 'Hello from v1, "quoted"'
    assert message.timestamp.isoformat() == "2026-01-01T10:00:05+00:00"


def test_v1_form_callback_carries_the_media_url() -> None:
    (message,) = parse_fixture("v1_image.form")
    assert message.kind is MessageKind.IMAGE
    assert message.text == "Photo of the receipt"
    assert message.media == MediaRef(
        url="https://kaleyra-wa-media.s3.ap-south-1.amazonaws.com/300000000000001/v1-receipt-0001.jpg", content_type="image/jpeg"
    )


def test_v1_redelivery_gets_the_same_message_id_and_a_different_message_does_not() -> None:
    first = parse_fixture("v1_text.json")[0].provider_message_id
    assert parse_fixture("v1_text.json")[0].provider_message_id == first
    payload = fixture_json("v1_text.json")
    payload["body"] = "Something else"
    assert post_json(payload)[0].provider_message_id != first


def test_v1_message_id_is_used_when_the_profile_sends_one() -> None:
    payload = {**fixture_json("v1_text.json"), "id": "kal-msg-77"}
    assert post_json(payload)[0].provider_message_id == "kal-msg-77"


def test_v1_callback_for_another_number_is_skipped() -> None:
    assert post_json({**fixture_json("v1_text.json"), "wanumber": "919000000000"}) == []


def test_v1_unknown_type_is_kept_as_unsupported() -> None:
    (message,) = post_json({**fixture_json("v1_text.json"), "type": "interactive", "body": "Yes"})
    assert (message.kind, message.raw_type, message.text) == (MessageKind.UNSUPPORTED, "interactive", "Yes")


def test_v1_location_accepts_a_json_location_field() -> None:
    fields = {**fixture_json("v1_text.json"), "type": "location", "body": "", "location": '{"latitude": 12.97, "longitude": 77.59, "name": "MG Road"}'}
    (message,) = post_json(fields)
    assert message.location == {"latitude": 12.97, "longitude": 77.59, "name": "MG Road", "address": ""}


def test_v1_callback_without_a_sender_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        post_json({"body": "hi", "type": "text"})


def test_template_status_callback_is_parsed() -> None:
    (template,) = parse_fixture("template_status_approved.json")
    assert template == TemplateStatus(name="delivery_update", language="en", status="approved", provider_template_id="7654321098765432")


@pytest.mark.parametrize(("event", "expected"), [("Rejected", "rejected"), ("Disabled", "disabled"), ("Paused", "paused")])
def test_template_status_callbacks_accept_kaleyra_capitalisation(event: str, expected: str) -> None:
    (template,) = post_json({**fixture_json("template_status_approved.json"), "event": event, "reason": "SCAM"})
    assert (template.status, template.reason) == (expected, "SCAM")


def test_unknown_template_events_are_skipped() -> None:
    assert post_json({**fixture_json("template_status_approved.json"), "event": "FLAGGED"}) == []


# ----- webhook authentication -------------------------------------------------------------------
def test_the_header_token_is_accepted() -> None:
    make_backend().verify(request_for("POST", "application/json", b"{}"))


def test_a_missing_or_wrong_header_token_is_refused() -> None:
    backend = make_backend()
    with pytest.raises(SignatureError):
        backend.verify(request_for("POST", "application/json", b"{}", {**CREDENTIALS, "webhook_header_token": ""}))
    with pytest.raises(SignatureError):
        backend.verify(request_for("POST", "application/json", b"{}", {**CREDENTIALS, "webhook_header_token": "guess"}))


def test_without_a_configured_token_every_callback_is_accepted() -> None:
    backend = make_backend(webhook_header_token="")
    backend.verify(request_for("GET", "", b"from=1&body=x", {**CREDENTIALS, "webhook_header_token": ""}))
    assert backend.handshake(request_for("GET", "", b"from=1")) is None


# ----- credentials ------------------------------------------------------------------------------
def test_credentials_default_to_v2() -> None:
    cleaned = KaleyraBackend.validate_credentials({"sid": "S", "api_key": "K"})
    assert cleaned == {"sid": "S", "api_key": "K", "api_version": "v2"}


def test_api_version_must_be_v1_or_v2() -> None:
    assert KaleyraBackend.validate_credentials({"sid": "S", "api_key": "K", "api_version": "v1"})["api_version"] == "v1"
    with pytest.raises(CredentialsError) as caught:
        KaleyraBackend.validate_credentials({"sid": "S", "api_key": "K", "api_version": "v3"})
    assert set(caught.value.errors) == {"api_version"}


def test_missing_and_unknown_credentials_are_named() -> None:
    with pytest.raises(CredentialsError) as caught:
        KaleyraBackend.validate_credentials({"app_secret": "x"})
    assert set(caught.value.errors) == {"sid", "api_key", "app_secret"}


def test_the_secret_credentials_are_masked() -> None:
    assert KaleyraBackend.secret_fields() == {"api_key", "webhook_header_token"}


def test_default_hosts_depend_on_the_api_version() -> None:
    assert make_backend().base_url == "https://api.in.kaleyra.io"
    assert make_backend(api_version="v1").base_url == "https://api.kaleyra.io"
    assert make_backend("http://127.0.0.1:9/", api_version="v1").base_url == "http://127.0.0.1:9"


# ----- sending: v2 ------------------------------------------------------------------------------
V2_PATH = rf"/v2/{SID}/whatsapp/15550001111/messages"


def v2_route(fake_provider, check, answer: dict | None = None) -> None:
    def handler(request, match):
        assert request.header("api-key") == API_KEY
        assert request.header("Content-Type").startswith("application/json")
        body = request.json()
        assert set(body) == {"messaging_object", "extra_info"}
        check(body["messaging_object"])
        return 200, answer or {"messaging_product": "whatsapp", "contacts": [{"input": "919876543210", "wa_id": "919876543210"}], "messages": [{"id": "wamid.KOUT1"}]}

    fake_provider.route("POST", V2_PATH, handler)


def test_v2_send_text_wraps_the_meta_message_object(fake_provider) -> None:
    def check(message):
        assert message == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "919876543210",
            "type": "text",
            "text": {"preview_url": False, "body": "Namaste"},
        }

    v2_route(fake_provider, check)
    result = make_backend(fake_provider.url).send_text(to="+919876543210", text="Namaste")
    assert result.provider_message_id == "wamid.KOUT1"
    fake_provider.assert_clean()


def test_v2_send_media_and_template_use_meta_objects(fake_provider) -> None:
    seen: list[dict] = []
    v2_route(fake_provider, seen.append)
    backend = make_backend(fake_provider.url)
    backend.send_media(
        to="+919876543210",
        media=OutboundMedia(url="https://cdn.example/b.pdf", content_type="application/pdf", filename="b.pdf"),
        caption="Bill",
    )
    backend.send_template(to="+919876543210", template=TemplateMessage(name="delivery_update", language="en", body_params=["Ravi"]))
    assert seen[0]["document"] == {"link": "https://cdn.example/b.pdf", "caption": "Bill", "filename": "b.pdf"}
    assert seen[1]["template"] == {
        "name": "delivery_update",
        "language": {"code": "en"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ravi"}]}],
    }
    fake_provider.assert_clean()


@pytest.mark.parametrize(
    "answer",
    [{"data": [{"message_id": "wamid.KOUT1"}], "id": "other"}, {"id": "wamid.KOUT1"}, {"message_id": "wamid.KOUT1"}],
)
def test_v2_response_shapes_are_tolerated(fake_provider, answer: dict) -> None:
    v2_route(fake_provider, lambda message: None, answer)
    assert make_backend(fake_provider.url).send_text(to="+919876543210", text="x").provider_message_id == "wamid.KOUT1"
    fake_provider.assert_clean()


def test_v2_answer_without_an_id_is_a_permanent_error(fake_provider) -> None:
    v2_route(fake_provider, lambda message: None, {"status": "ok"})
    with pytest.raises(ProviderError) as caught:
        make_backend(fake_provider.url).send_text(to="+919876543210", text="x")
    assert caught.value.permanent


# ----- sending: v1 ------------------------------------------------------------------------------
V1_PATH = rf"/v1/{SID}/messages"


def v1_route(fake_provider, check) -> None:
    def handler(request, match):
        assert request.header("api-key") == API_KEY
        check(request)
        return 202, {"id": "req-1", "data": [{"message_id": "kal-out-1", "recipient": "+919876543210"}]}

    fake_provider.route("POST", V1_PATH, handler)


def test_v1_send_text_posts_form_fields(fake_provider) -> None:
    def check(request):
        assert request.form_dict() == {"to": "+919876543210", "from": "+15550001111", "channel": "whatsapp", "type": "text", "body": "Hi, there"}

    v1_route(fake_provider, check)
    result = make_backend(fake_provider.url, api_version="v1").send_text(to="+919876543210", text="Hi, there")
    assert result.provider_message_id == "kal-out-1"
    fake_provider.assert_clean()


def test_v1_send_media_uploads_the_file_as_multipart(fake_provider) -> None:
    def check(request):
        assert request.header("Content-Type").startswith("multipart/form-data")
        fields = multipart_fields(request)
        assert fields["media"] == ("photo.jpg", "image/jpeg", b"\xff\xd8jpeg")
        assert {k: v[2] for k, v in fields.items() if k != "media"} == {
            "to": b"+919876543210",
            "from": b"+15550001111",
            "channel": b"whatsapp",
            "type": b"media",
            "caption": b"Receipt",
        }

    v1_route(fake_provider, check)
    media = OutboundMedia(url="https://cdn.example/photo.jpg", content_type="image/jpeg", filename="photo.jpg", kind=MessageKind.IMAGE, content=b"\xff\xd8jpeg")
    make_backend(fake_provider.url, api_version="v1").send_media(to="+919876543210", media=media, caption="Receipt")
    fake_provider.assert_clean()


def test_v1_send_media_without_content_sends_the_url(fake_provider) -> None:
    def check(request):
        form = request.form_dict()
        assert (form["type"], form["media_url"]) == ("media", "https://cdn.example/photo.jpg")

    v1_route(fake_provider, check)
    media = OutboundMedia(url="https://cdn.example/photo.jpg", content_type="image/jpeg", kind=MessageKind.IMAGE)
    make_backend(fake_provider.url, api_version="v1").send_media(to="+919876543210", media=media)
    fake_provider.assert_clean()


def test_v1_template_params_are_one_string_of_quoted_values(fake_provider) -> None:
    def check(request):
        form = request.form_dict()
        assert form["type"] == "template"
        assert form["template_name"] == "delivery_update"
        assert form["lang_code"] == "en"
        assert form["params"] == '"Ravi","12, MG Road","say \'hi\'"'

    v1_route(fake_provider, check)
    template = TemplateMessage(name="delivery_update", language="en", body_params=["Ravi", "12, MG Road", 'say "hi"'])
    make_backend(fake_provider.url, api_version="v1").send_template(to="919876543210", template=template)
    fake_provider.assert_clean()


def test_v1_falls_back_to_the_top_level_id(fake_provider) -> None:
    fake_provider.route("POST", V1_PATH, (202, {"id": "req-9"}))
    assert make_backend(fake_provider.url, api_version="v1").send_text(to="+919876543210", text="x").provider_message_id == "req-9"


# ----- errors -----------------------------------------------------------------------------------
def send_expecting_error(fake_provider, answer: tuple, **credentials: str) -> ProviderError:
    path = V1_PATH if credentials.get("api_version") == "v1" else V2_PATH
    fake_provider.route("POST", path, answer)
    with pytest.raises(ProviderError) as caught:
        make_backend(fake_provider.url, **credentials).send_text(to="+919876543210", text="Hi")
    fake_provider.assert_clean()
    return caught.value


def test_a_passed_through_window_error_is_marked_window_closed(fake_provider) -> None:
    body = {"error": {"message": "(#131047) Re-engagement message", "code": 131047, "error_data": {"details": "24 hours passed"}}}
    error = send_expecting_error(fake_provider, (400, body))
    assert (error.code, error.permanent, error.window_closed) == ("131047", True, True)


def test_kaleyra_own_error_fields_are_extracted(fake_provider) -> None:
    body = {"code": "E413", "message": "Invalid/incorrect phone number.", "error": {"to": "Invalid number"}, "data": []}
    error = send_expecting_error(fake_provider, (400, body), api_version="v1")
    assert (error.code, error.message, error.permanent) == ("E413", "to: Invalid number", True)


def test_kaleyra_429_and_5xx_are_retryable(fake_provider) -> None:
    error = send_expecting_error(fake_provider, (429, {"code": "E429", "message": "Too many requests"}, {"Retry-After": "3"}))
    assert (error.permanent, error.retry_after) == (False, 3.0)
    fake_provider.reset()
    assert not send_expecting_error(fake_provider, (503, "down")).permanent


# ----- media ------------------------------------------------------------------------------------
def test_fetch_media_sends_the_api_key(fake_provider) -> None:
    def download(request, match):
        assert request.header("api-key") == API_KEY
        return 200, b"\xff\xd8", {"Content-Type": "binary/octet-stream"}

    fake_provider.route("GET", r"/300000000000001/KIMAGE000000001\.jpg", download)
    (message,) = parse_fixture("v2_image.json")
    fetched = make_backend(fake_provider.url).fetch_media(message.media)
    assert (fetched.content, fetched.content_type, fetched.filename) == (b"\xff\xd8", "image/jpeg", "KIMAGE000000001.jpg")
    fake_provider.assert_clean()


def test_fetch_media_never_sends_the_api_key_to_a_foreign_host() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"data", headers={"Content-Type": "image/png"})

    config = AccountConfig(id=1, provider="kaleyra", phone_number="+15550001111", credentials=CREDENTIALS)
    backend = KaleyraBackend(config, transport=httpx.MockTransport(answer))
    backend.fetch_media(MediaRef(url="https://evil.example/x.png"))
    backend.fetch_media(MediaRef(url="https://media.in.kaleyra.io/x.png"))
    assert [r.headers.get("api-key") for r in seen] == [None, API_KEY]


def test_fetch_media_without_a_url_is_a_permanent_error() -> None:
    with pytest.raises(ProviderError) as caught:
        make_backend().fetch_media(MediaRef(media_id="META-ONLY"))
    assert caught.value.permanent


# ----- templates --------------------------------------------------------------------------------
def test_list_templates_is_tolerant_of_the_unconfirmed_shape(fake_provider) -> None:
    def listing(request, match):
        assert request.header("api-key") == API_KEY
        return 200, {
            "data": [
                {"template_name": "delivery_update", "lang_code": "en", "status": "Approved", "id": 11},
                {"name": "promo", "language": "hi", "status": "REJECTED", "reason": "SCAM"},
                {"name": "draftish", "status": "DRAFT"},
                "junk",
            ]
        }

    fake_provider.route("GET", rf"/v1/{SID}/messages/template", listing)
    templates = make_backend(fake_provider.url).list_templates()
    assert templates == [
        TemplateStatus(name="delivery_update", language="en", status="approved", provider_template_id="11"),
        TemplateStatus(name="promo", language="hi", status="rejected", reason="SCAM"),
    ]
    fake_provider.assert_clean()


def test_the_backend_advertises_templates_and_campaigns() -> None:
    assert KaleyraBackend.supports_templates and KaleyraBackend.supports_campaigns
    assert KaleyraBackend.provider == "kaleyra"
    assert "131047" in KaleyraBackend.window_error_codes
    assert isinstance(parse_fixture("v2_status_delivered.json")[0], StatusUpdate)
