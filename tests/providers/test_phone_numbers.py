"""Every backend reads and writes phone numbers through the one helper in apps/core/phones.py."""
from __future__ import annotations

import pytest

from apps.core import phones
from apps.providers import base
from apps.providers.types import ErrorCode, InboundMessage, PayloadError, ProviderError
from tests.providers.backends import CASES, TWILIO, Case

E164 = "+15551234567"

# The same number as providers (and people) write it.
WRITTEN = ["15551234567", "+15551234567", "+1 555 123 4567", "+1 (555) 123-4567", "0015551234567"]


@pytest.fixture
def helper_calls(monkeypatch) -> list[str]:
    """What the backends hand to apps.core.phones, through base's inbound/outbound helpers."""
    calls: list[str] = []
    real = phones.normalize_phone

    def spy(raw: str, *, international: bool = False) -> str:
        calls.append(raw)
        return real(raw, international=international)

    monkeypatch.setattr(base, "normalize_phone", spy)
    return calls


def ids(case: Case) -> str:
    return case.name


@pytest.mark.parametrize("written", WRITTEN)
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_an_inbound_sender_becomes_the_same_e164_whatever_the_backend(case: Case, written: str, helper_calls) -> None:
    sender = f"whatsapp:{written}" if case is TWILIO else written
    (message,) = case.make("").parse(case.inbound_from(sender))
    assert isinstance(message, InboundMessage)
    assert message.customer_phone == E164
    assert written in helper_calls


@pytest.mark.parametrize("sender", ["1555", "15551234567890123", "+1 555"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_an_inbound_sender_that_is_no_possible_number_is_a_payload_error(case: Case, sender: str) -> None:
    with pytest.raises(PayloadError, match="not a phone number"):
        case.make("").parse(case.inbound_from(f"whatsapp:{sender}" if case is TWILIO else sender))


@pytest.mark.parametrize("written", WRITTEN)
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_a_recipient_is_sent_in_the_providers_own_form_of_the_same_number(
    case: Case, written: str, fake_provider, helper_calls
) -> None:
    case.prepare(fake_provider)
    fake_provider.route(case.send_method, case.send_path, case.send_ok)
    case.make(fake_provider.url).send_text(to=written, text="Hi")
    fake_provider.assert_clean()
    (send,) = [r for r in fake_provider.requests if r.path != "/oauth2/token"]
    assert case.recipient_in(send) == case.wire_number
    assert written in helper_calls


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_a_recipient_that_is_no_possible_number_is_refused_before_any_request(case: Case, fake_provider) -> None:
    case.prepare(fake_provider)
    with pytest.raises(ProviderError) as caught:
        case.make(fake_provider.url).send_text(to="+1 55", text="Hi")
    assert (caught.value.code, caught.value.permanent) == (ErrorCode.INVALID_RECIPIENT, True)
    assert [r.path for r in fake_provider.requests if r.path != "/oauth2/token"] == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("15551234567", "+15551234567"), ("+44 20 7946 0958", "+442079460958"), ("0039 06 1234 5678", "+390612345678")],
)
def test_international_digits_without_a_plus_are_read_as_wire_numbers(raw: str, expected: str) -> None:
    assert phones.normalize_phone(raw, international=True) == expected


def test_a_person_must_still_type_the_plus_or_00() -> None:
    # A form field given "5551234567" may be a national number: guessing its country would be wrong.
    with pytest.raises(ValueError):
        phones.normalize_phone("15551234567")


@pytest.mark.parametrize("raw", ["US.1000000000000000001", "1-800-FLOWERS", "+1 555 123 4567 ext. 8"])
def test_letters_never_make_a_number(raw: str) -> None:
    # phonenumbers would read vanity letters and extensions; a BSUID must never pass for a phone.
    assert phones.normalize_phone_or_blank(raw, international=True) == ""
