from __future__ import annotations

import pytest

from apps.accounts.models import WhatsAppAccount
from tests.factories import TemplateFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

META_CREDENTIALS = {
    "phone_number_id": "1234567890",
    "waba_id": "555000111",
    "access_token": "EAAG-very-secret-token-abcd",
    "app_secret": "app-secret-0123456789",
    "verify_token": "verify-me-please-42",
}


def create(client, **data):
    payload = {"name": "Main", "provider": "sandbox", "phone_number": "+15550001111", "credentials": {}, **data}
    return client.post("/api/v1/accounts/", payload, format="json")


def test_an_admin_creates_an_account_with_the_number_normalised_to_e164(as_user, ada, queue_a):
    response = create(as_user(ada), phone_number="+1 (555) 000-1111", queue=queue_a.pk)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone_number"] == "+15550001111"
    for field in ("id", "name", "provider", "phone_number", "credentials", "api_base_url", "queue", "webhook_url"):
        assert field in body
    assert WhatsAppAccount.objects.get(pk=body["id"]).phone_number == "+15550001111"


def test_00_prefix_is_accepted_as_international(as_user, ada, queue_a):
    response = create(as_user(ada), phone_number="0044 20 7946 0958", queue=queue_a.pk)
    assert response.status_code == 201, response.json()
    assert response.json()["phone_number"] == "+442079460958"


@pytest.mark.parametrize("number", ["+1 555", "5550001111", "not a number", "+999 1234"])
def test_an_impossible_or_national_number_is_a_field_error(as_user, ada, queue_a, number):
    response = create(as_user(ada), phone_number=number, queue=queue_a.pk)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_phone_number"
    assert "phone_number" in body["errors"]
    assert not WhatsAppAccount.objects.exists()


def test_credentials_are_validated_per_provider_with_field_errors(as_user, ada, queue_a):
    credentials = dict(META_CREDENTIALS)
    del credentials["app_secret"]
    response = create(as_user(ada), provider="meta", credentials=credentials, queue=queue_a.pk)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert "credentials.app_secret" in body["errors"]


def test_unknown_credential_fields_are_refused(as_user, ada, queue_a):
    response = create(as_user(ada), provider="twilio", credentials={"account_sid": "AC1", "auth_token": "t", "nope": "x"}, queue=queue_a.pk)
    assert response.status_code == 400
    assert "credentials.nope" in response.json()["errors"]


def test_secrets_are_never_returned_only_masked(as_user, ada, queue_a):
    response = create(as_user(ada), provider="meta", credentials=META_CREDENTIALS, queue=queue_a.pk)
    assert response.status_code == 201, response.json()
    for body in (response.json(), as_user(ada).get(f"/api/v1/accounts/{response.json()['id']}/").json()):
        credentials = body["credentials"]
        assert credentials["phone_number_id"] == "1234567890"
        assert credentials["access_token"] == "••••abcd"
        assert credentials["app_secret"] == "••••6789"
        assert credentials["verify_token"] == "••••e-42"
        assert "very-secret" not in str(body)
    assert credentials["api_version"]  # the default is filled in


def test_patch_without_secrets_keeps_the_stored_ones(as_user, ada, queue_a):
    account_id = create(as_user(ada), provider="meta", credentials=META_CREDENTIALS, queue=queue_a.pk).json()["id"]
    response = as_user(ada).patch(
        f"/api/v1/accounts/{account_id}/",
        {"credentials": {"phone_number_id": "999", "waba_id": "555000111", "access_token": ""}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    stored = WhatsAppAccount.objects.get(pk=account_id).credentials
    assert stored["phone_number_id"] == "999"
    assert stored["access_token"] == META_CREDENTIALS["access_token"]
    assert stored["app_secret"] == META_CREDENTIALS["app_secret"]


def test_patch_can_replace_a_secret(as_user, ada, queue_a):
    account_id = create(as_user(ada), provider="twilio", credentials={"account_sid": "AC1", "auth_token": "old-token-1234"}, queue=queue_a.pk).json()["id"]
    as_user(ada).patch(f"/api/v1/accounts/{account_id}/", {"credentials": {"auth_token": "new-token-5678"}}, format="json")
    assert WhatsAppAccount.objects.get(pk=account_id).credentials == {"account_sid": "AC1", "auth_token": "new-token-5678"}


def test_patch_without_credentials_leaves_them_alone(as_user, ada, queue_a):
    account_id = create(as_user(ada), provider="twilio", credentials={"account_sid": "AC1", "auth_token": "tok-123456789"}, queue=queue_a.pk).json()["id"]
    response = as_user(ada).patch(f"/api/v1/accounts/{account_id}/", {"name": "Renamed", "phone_number": "+44 20 7946 0958"}, format="json")
    assert response.status_code == 200
    account = WhatsAppAccount.objects.get(pk=account_id)
    assert (account.name, account.phone_number) == ("Renamed", "+442079460958")
    assert account.credentials["auth_token"] == "tok-123456789"


def test_the_webhook_url_is_absolute_and_unguessable(as_user, ada, queue_a):
    body = create(as_user(ada), queue=queue_a.pk).json()
    account = WhatsAppAccount.objects.get(pk=body["id"])
    assert body["webhook_url"].startswith("http://testserver/")
    assert account.webhook_token in body["webhook_url"]
    assert f"/{account.pk}/" not in body["webhook_url"]
    assert len(account.webhook_token) >= 24


def test_the_webhook_url_cannot_be_written(as_user, ada, queue_a):
    account_id = create(as_user(ada), queue=queue_a.pk).json()["id"]
    before = WhatsAppAccount.objects.get(pk=account_id).webhook_url
    as_user(ada).patch(f"/api/v1/accounts/{account_id}/", {"webhook_url": "http://evil/"}, format="json")
    assert WhatsAppAccount.objects.get(pk=account_id).webhook_url == before


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_accounts_are_for_admins_only(request, as_user, who, account_a):
    client = as_user(request.getfixturevalue(who))
    assert client.get("/api/v1/accounts/").status_code == 403
    assert client.get(f"/api/v1/accounts/{account_a.pk}/").status_code == 403
    assert client.patch(f"/api/v1/accounts/{account_a.pk}/", {"name": "x"}, format="json").status_code == 403


def test_a_recontact_template_must_belong_to_the_account(as_user, ada, account_a, account_b):
    foreign = TemplateFactory(account=account_b)
    response = as_user(ada).patch(f"/api/v1/accounts/{account_a.pk}/", {"recontact_template": foreign.pk}, format="json")
    assert response.status_code == 400
    assert "recontact_template" in response.json()["errors"]
    own = TemplateFactory(account=account_a)
    response = as_user(ada).patch(f"/api/v1/accounts/{account_a.pk}/", {"recontact_template": own.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["recontact_template"] == own.pk


def test_an_admin_deletes_an_unused_account(as_user, ada, queue_a):
    account = WhatsAppAccountFactory(queue=queue_a)
    assert as_user(ada).delete(f"/api/v1/accounts/{account.pk}/").status_code == 204
