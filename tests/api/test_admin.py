"""The back office (Django Admin) renders for a superuser, and the account form keeps secrets."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import WhatsAppAccount
from apps.core.models import InstallationSettings
from apps.providers.models import WebhookEvent
from apps.users.models import User
from tests.factories import (
    ContactFactory,
    InteractionFactory,
    MessageFactory,
    NoteFactory,
    TemplateFactory,
    WhatsAppAccountFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client):
    user = User.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def some_data(account_a, alice):
    interaction = InteractionFactory(account=account_a, owner=alice)
    MessageFactory(interaction=interaction)
    NoteFactory(interaction=interaction, author=alice)
    TemplateFactory(account=account_a)
    ContactFactory()
    WebhookEvent.objects.create(account=account_a, provider="sandbox", event_key="k1", body=b'{"a": 1}', headers={"X-A": "1"})
    return interaction


def admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_changelist_add_and_change_page_renders(root, some_data, rf):
    request = rf.get("/")
    request.user = User.objects.get(username="root")
    for model, model_admin in admin.site._registry.items():
        response = root.get(admin_url(model, "changelist"), follow=True)
        assert response.status_code == 200, model
        if model_admin.has_add_permission(request):
            assert root.get(admin_url(model, "add")).status_code == 200, model
        obj = model.objects.first()
        if obj is not None:
            assert root.get(admin_url(model, "change", obj.pk)).status_code == 200, model


def test_settings_is_a_singleton_in_the_admin(root):
    response = root.get(admin_url(InstallationSettings, "changelist"))
    assert response.status_code == 302
    assert response["Location"] == admin_url(InstallationSettings, "change", 1)
    assert root.get(admin_url(InstallationSettings, "add")).status_code == 403
    assert root.get(admin_url(InstallationSettings, "delete", 1)).status_code == 403


def account_form(queue, **extra):
    data = {
        "name": "Meta main",
        "provider": "meta",
        "phone_number": "+1 555 000 2222",
        "queue": queue.pk,
        "is_active": "on",
        "create_contacts": "on",
        "api_base_url": "",
        "credentials_meta_phone_number_id": "111",
        "credentials_meta_waba_id": "222",
        "credentials_meta_access_token": "token-abcdefgh-1",
        "credentials_meta_app_secret": "secret-abcdefgh-2",
        "credentials_meta_verify_token": "verify-abcdefgh-3",
        "credentials_meta_api_version": "",
    }
    data.update(extra)
    return data


def test_the_account_form_creates_an_account_through_the_services(root, queue_a):
    response = root.post(admin_url(WhatsAppAccount, "add"), account_form(queue_a))
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = WhatsAppAccount.objects.get()
    assert account.phone_number == "+15550002222"
    assert account.credentials["app_secret"] == "secret-abcdefgh-2"
    assert account.credentials["api_version"]


def test_the_account_form_keeps_secrets_left_empty(root, queue_a):
    root.post(admin_url(WhatsAppAccount, "add"), account_form(queue_a))
    account = WhatsAppAccount.objects.get()
    page = root.get(admin_url(WhatsAppAccount, "change", account.pk)).content.decode()
    assert "secret-abcdefgh-2" not in page and "token-abcdefgh-1" not in page
    response = root.post(
        admin_url(WhatsAppAccount, "change", account.pk),
        account_form(
            queue_a,
            name="Renamed",
            credentials_meta_waba_id="333",
            credentials_meta_access_token="",
            credentials_meta_app_secret="",
            credentials_meta_verify_token="",
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert account.credentials["waba_id"] == "333"
    assert account.credentials["access_token"] == "token-abcdefgh-1"
    assert account.credentials["app_secret"] == "secret-abcdefgh-2"


def test_the_account_form_shows_credential_and_phone_errors(root, queue_a):
    response = root.post(
        admin_url(WhatsAppAccount, "add"), account_form(queue_a, phone_number="12", credentials_meta_app_secret="")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "phone_number" in errors
    assert "credentials_meta_app_secret" in errors
    assert not WhatsAppAccount.objects.exists()


def test_the_webhook_url_is_shown_in_the_list_and_the_form(root, queue_a):
    account = WhatsAppAccountFactory(queue=queue_a)
    assert account.webhook_url in root.get(admin_url(WhatsAppAccount, "changelist")).content.decode()
    assert account.webhook_url in root.get(admin_url(WhatsAppAccount, "change", account.pk)).content.decode()


def test_webhook_events_show_their_body_and_can_be_reprocessed(root, account_a, monkeypatch, on_commit):
    event = WebhookEvent.objects.create(
        account=account_a, provider="sandbox", event_key="k2", body=b'{"hello": "world"}', headers={"X-Sig": "abc"}
    )
    page = root.get(admin_url(WebhookEvent, "change", event.pk)).content.decode()
    assert "hello" in page and "X-Sig" in page
    processed = []
    import apps.providers.services as services

    monkeypatch.setattr(services, "webhook_event_process", lambda *, event_id: processed.append(event_id))
    with on_commit():
        response = root.post(
            admin_url(WebhookEvent, "changelist"), {"action": "reprocess", "_selected_action": [event.pk]}
        )
    assert response.status_code == 302
    assert processed == [event.pk]
