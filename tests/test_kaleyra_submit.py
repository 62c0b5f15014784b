"""``POST templates/{id}/submit/`` for Kaleyra accounts, through the API against the fake provider."""
from __future__ import annotations

import pytest

from apps.accounts.models import WhatsAppAccount
from apps.templates.models import Template
from apps.users.models import User
from tests.api.conftest import client_for
from tests.factories import QueueFactory, TemplateFactory, UserFactory
from tests.webhooks import manifest

pytestmark = pytest.mark.django_db

CREDENTIALS = manifest("kaleyra")["credentials"]
SID, WABA, API_KEY = CREDENTIALS["sid"], CREDENTIALS["waba_id"], CREDENTIALS["api_key"]


@pytest.fixture
def admin_client(db):
    return client_for(UserFactory(username="ada", role=User.Role.ADMIN))


def kaleyra_account(fake_provider, **credentials) -> WhatsAppAccount:
    return WhatsAppAccount.objects.create(
        name="Kaleyra", provider="kaleyra", phone_number=manifest("kaleyra")["phone_number"],
        credentials={**CREDENTIALS, **credentials}, api_base_url=fake_provider.url, queue=QueueFactory(),
    )


def draft_for(account) -> Template:
    return TemplateFactory(
        account=account, status="draft", name="order_ready", language="en", category="UTILITY", header="Ready",
        body="Hi {{1}}, order {{2}} is ready", footer="Thanks", examples=["Ana", "#1"],
    )


def test_a_v2_draft_goes_to_kaleyra_in_metas_format_and_becomes_pending(admin_client, fake_provider):
    template = draft_for(kaleyra_account(fake_provider))

    def create(request, match):
        assert request.header("api-key") == API_KEY
        assert request.json() == {
            "name": "order_ready", "language": "en", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Ready"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready", "example": {"body_text": [["Ana", "#1"]]}},
                {"type": "FOOTER", "text": "Thanks"},
            ],
        }
        return 200, {"id": "1234567890", "status": "PENDING", "category": "UTILITY"}

    fake_provider.route("POST", rf"/v2/{SID}/whatsapp/{WABA}/message_templates", create)
    response = admin_client.post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 200, response.json()
    fake_provider.assert_clean()
    assert len(fake_provider.requests) == 1
    assert (response.json()["status"], response.json()["provider_template_id"]) == ("pending", "1234567890")
    template.refresh_from_db()
    assert (template.status, template.provider_template_id) == ("pending", "1234567890")


def test_a_v1_draft_goes_to_the_v1_template_endpoint(admin_client, fake_provider):
    template = draft_for(kaleyra_account(fake_provider, api_version="v1"))

    def create(request, match):
        assert request.header("api-key") == API_KEY
        assert request.json() == {
            "name": "order_ready", "language": "en", "category": "UTILITY", "waba_id": WABA,
            "header": {"type": "text"}, "header_content": "Ready",
            "body": "Hi {{1}}, order {{2}} is ready", "sample_body": "Hi Ana, order #1 is ready",
            "footer_content": "Thanks",
        }
        return 202, {"data": {"id": "tpl-77", "status": "pending"}}

    fake_provider.route("POST", rf"/v1/{SID}/whatsapp/template", create)
    response = admin_client.post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 200, response.json()
    fake_provider.assert_clean()
    assert (response.json()["status"], response.json()["provider_template_id"]) == ("pending", "tpl-77")


def test_a_provider_refusal_is_a_coded_error_and_the_template_stays_a_draft(admin_client, fake_provider):
    template = draft_for(kaleyra_account(fake_provider))
    fake_provider.route(
        "POST", rf"/v2/{SID}/whatsapp/{WABA}/message_templates",
        (400, {"error": {"code": 100, "message": "Invalid parameter", "error_data": {"details": "name taken"}}}),
    )
    response = admin_client.post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "submit_failed" and "name taken" in body["detail"] and "(100)" in body["detail"]
    template.refresh_from_db()
    assert (template.status, template.provider_template_id) == ("draft", "")


def test_an_answer_without_a_template_id_is_a_coded_error(admin_client, fake_provider):
    template = draft_for(kaleyra_account(fake_provider))
    fake_provider.route("POST", rf"/v2/{SID}/whatsapp/{WABA}/message_templates", (200, {"ok": True}))
    response = admin_client.post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 409 and response.json()["code"] == "submit_failed"
    template.refresh_from_db()
    assert template.status == "draft"


def test_without_a_waba_id_nothing_is_sent(admin_client, fake_provider):
    template = draft_for(kaleyra_account(fake_provider, waba_id=""))
    response = admin_client.post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 409 and response.json()["code"] == "submit_failed"
    assert "waba_id" in response.json()["detail"]
    assert fake_provider.requests == []
