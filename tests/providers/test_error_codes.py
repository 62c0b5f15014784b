"""One failure, one code and one retryability, whichever backend met it."""
from __future__ import annotations

import socket
import time

import httpx
import pytest

from apps.providers import base
from apps.providers.types import ErrorCode, MediaRef, ProviderError
from tests.providers.backends import CASES, KALEYRA_V2, META, SINCH, TWILIO, Case

HTML = {"Content-Type": "text/html"}


def ids(case: Case) -> str:
    return case.name


def send_failing(case: Case, fake_provider, answer) -> ProviderError:
    case.prepare(fake_provider)
    fake_provider.route(case.send_method, case.send_path, answer)
    with pytest.raises(ProviderError) as caught:
        case.make(fake_provider.url).send_text(to="+15551234567", text="Hi")
    return caught.value


def outcome(error: ProviderError) -> tuple:
    return error.code, error.permanent, error.retry_after


# ----- answers without a code of the provider's ---------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param((500, "Internal error", HTML), (ErrorCode.SERVER_ERROR, False, None), id="500"),
        pytest.param((500, {"error": {"message": "boom"}}), (ErrorCode.SERVER_ERROR, False, None), id="500-json-without-code"),
        pytest.param((503, "<h1>Down</h1>", {**HTML, "Retry-After": "3"}), (ErrorCode.SERVER_ERROR, False, 3.0), id="503-retry-after"),
        pytest.param((429, "Slow down", {**HTML, "Retry-After": "7"}), (ErrorCode.RATE_LIMITED, False, 7.0), id="429-retry-after"),
        pytest.param((408, "", HTML), (ErrorCode.TIMEOUT, False, None), id="408"),
        pytest.param((401, "Unauthorized", HTML), (ErrorCode.AUTH_FAILED, True, None), id="401"),
        pytest.param((403, "Forbidden", HTML), (ErrorCode.AUTH_FAILED, True, None), id="403"),
        pytest.param((400, "Bad request", HTML), (ErrorCode.HTTP_ERROR, True, None), id="400"),
        # A permanent refusal is not retried, so a Retry-After on it means nothing.
        pytest.param((404, "Nope", {**HTML, "Retry-After": "5"}), (ErrorCode.HTTP_ERROR, True, None), id="404-retry-after"),
        pytest.param((200, "<html>maintenance</html>", HTML), (ErrorCode.INVALID_RESPONSE, True, None), id="garbage-body"),
        pytest.param((200, {"accepted": True}), (ErrorCode.INVALID_RESPONSE, True, None), id="no-message-id"),
    ],
)
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_every_backend_maps_an_answer_to_the_same_code_and_retryability(case: Case, fake_provider, answer, expected) -> None:
    error = send_failing(case, fake_provider, answer)
    fake_provider.assert_clean()
    assert outcome(error) == expected
    assert error.http_status == answer[0]
    assert not error.window_closed


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_an_http_error_without_a_provider_code_names_the_status_in_its_message(case: Case, fake_provider) -> None:
    error = send_failing(case, fake_provider, (502, "Bad gateway", HTML))
    assert error.message == "HTTP 502: Bad gateway"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_a_send_answered_too_late_is_a_retryable_timeout(case: Case, fake_provider, monkeypatch) -> None:
    monkeypatch.setattr(base, "HTTP_TIMEOUT", httpx.Timeout(0.2))

    def slow(request, match):
        time.sleep(0.6)
        return case.send_ok

    error = send_failing(case, fake_provider, slow)
    assert outcome(error) == (ErrorCode.TIMEOUT, False, None)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_a_provider_that_cannot_be_reached_is_a_retryable_network_error(case: Case, closed_port_url) -> None:
    with pytest.raises(ProviderError) as caught:
        case.make(closed_port_url).send_text(to="+15551234567", text="Hi")
    assert outcome(caught.value) == (ErrorCode.NETWORK, False, None)


# ----- reads: an unreadable answer is harmless to ask again ------------------------------------------
def test_an_unreadable_media_link_from_meta_is_retried(fake_provider) -> None:
    version, media_id = META.make("").api_version, "MEDIA1"
    fake_provider.route("GET", rf"/{version}/{media_id}", (200, "<html>oops</html>", HTML))
    with pytest.raises(ProviderError) as caught:
        META.make(fake_provider.url).fetch_media(MediaRef(media_id=media_id))
    assert outcome(caught.value) == (ErrorCode.INVALID_RESPONSE, False, None)


def test_an_unreadable_sinch_token_is_retried(fake_provider) -> None:
    SINCH.backend_class.clear_token_cache()
    fake_provider.route("POST", r"/oauth2/token", (200, {"token_type": "bearer"}))
    with pytest.raises(ProviderError) as caught:
        SINCH.make(fake_provider.url).send_text(to="+15551234567", text="Hi")
    assert outcome(caught.value) == (ErrorCode.INVALID_RESPONSE, False, None)
    assert not [r for r in fake_provider.requests if r.path != "/oauth2/token"], "nothing may be sent without a token"


@pytest.mark.parametrize(
    ("case", "path"),
    [(META, r"/v[0-9.]+/[0-9]+/message_templates"), (KALEYRA_V2, r"/v1/[^/]+/messages/template")],
    ids=["meta", "kaleyra"],
)
def test_an_unreadable_template_list_is_retried(case: Case, path: str, fake_provider) -> None:
    fake_provider.route("GET", path, (200, "not json", HTML))
    with pytest.raises(ProviderError) as caught:
        case.make(fake_provider.url).list_templates()
    fake_provider.assert_clean()
    assert outcome(caught.value) == (ErrorCode.INVALID_RESPONSE, False, None)


# ----- the provider's own codes stay --------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "answer", "code"),
    [
        (META, (400, {"error": {"code": 131047, "message": "Re-engagement message"}}), "131047"),
        (KALEYRA_V2, (400, {"error": {"code": 131047, "message": "Re-engagement message"}}), "131047"),
        (SINCH, (400, {"error": {"code": 400, "status": "OUTSIDE_ALLOWED_SENDING_WINDOW", "message": "Window"}}),
         "OUTSIDE_ALLOWED_SENDING_WINDOW"),
    ],
    ids=["meta", "kaleyra", "sinch"],
)
def test_a_window_refusal_keeps_the_providers_code_and_is_flagged(case: Case, answer, code: str, fake_provider) -> None:
    error = send_failing(case, fake_provider, answer)
    assert (error.code, error.permanent, error.window_closed) == (code, True, True)


def test_a_provider_code_on_a_429_keeps_the_code_and_the_retry_after(fake_provider) -> None:
    error = send_failing(META, fake_provider, (429, {"error": {"code": 130429, "message": "Rate limit hit"}}, {"Retry-After": "9"}))
    assert outcome(error) == ("130429", False, 9.0)


def test_a_twilio_failure_without_a_code_is_send_failed(fake_provider) -> None:
    error = send_failing(TWILIO, fake_provider, (201, {"sid": "SM1", "status": "failed", "error_code": None}))
    assert (error.code, error.permanent) == (ErrorCode.SEND_FAILED, True)


# ----- ProviderError.from_http ----------------------------------------------------------------------
def test_a_retryable_provider_code_is_retried_whatever_the_status() -> None:
    error = ProviderError.from_http(400, provider_code="4", message="Too many calls", retryable_codes=frozenset({"4"}))
    assert (error.code, error.permanent, error.message) == ("4", False, "Too many calls")


def test_a_window_code_is_flagged_only_when_the_provider_gave_it() -> None:
    window = frozenset({"131047"})
    assert ProviderError.from_http(400, provider_code="131047", window_codes=window).window_closed
    assert not ProviderError.from_http(400, message="131047", window_codes=window).window_closed


def test_the_codes_are_plain_strings() -> None:
    # They are stored in Message.error_code and sent to the desktop as JSON.
    error = ProviderError.timeout("slow")
    assert type(error.code) is str and error.code == "timeout"
    assert str(ErrorCode.INVALID_RESPONSE) == "invalid_response"

