from __future__ import annotations

import pytest

from apps.accounts.services import AccountInvalid, account_create, account_update, mask_credentials
from apps.core.phones import normalize_phone

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+1 (555) 000-1111", "+15550001111"), ("0039 06 1234 5678", "+390612345678"), (" +44 20 7946 0958 ", "+442079460958")],
)
def test_normalize_phone_gives_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "555 000 1111", "+1 55", "++1", "+abc"])
def test_normalize_phone_refuses_what_is_not_an_international_possible_number(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_mask_credentials_hides_secrets_only():
    masked = mask_credentials("twilio", {"account_sid": "AC123", "auth_token": "abcdefghijkl"})
    assert masked == {"account_sid": "AC123", "auth_token": "••••ijkl"}
    assert mask_credentials("twilio", {"account_sid": "AC1", "auth_token": "short"})["auth_token"] == "••••"


def test_account_update_keeps_omitted_secrets(queue_a):
    account = account_create(
        name="T", provider="twilio", phone_number="+15550001111",
        credentials={"account_sid": "AC1", "auth_token": "secret-123456"}, queue=queue_a,
    )
    account_update(account=account, credentials={"account_sid": "AC2"})
    account.refresh_from_db()
    assert account.credentials == {"account_sid": "AC2", "auth_token": "secret-123456"}


def test_changing_provider_needs_the_new_providers_credentials(queue_a):
    account = account_create(name="T", provider="sandbox", phone_number="+15550001111", credentials={}, queue=queue_a)
    with pytest.raises(AccountInvalid) as caught:
        account_update(account=account, provider="twilio")
    assert set(caught.value.errors) == {"credentials.account_sid", "credentials.auth_token"}
