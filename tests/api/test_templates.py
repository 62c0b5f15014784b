"""``templates/`` over REST (CONTRACT.md): fields, who reads what, sync, submit and render."""
from __future__ import annotations

import pytest

from apps.accounts.models import WhatsAppAccount
from apps.templates.models import Template
from tests.factories import ContactFactory, InteractionFactory, TemplateFactory
from tests.webhooks import manifest

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "account", "name", "language", "category", "header", "body", "footer", "param_count", "status",
    "rejection_reason", "available_for_agents", "provider_template_id",
}


def test_a_template_has_every_contract_field(as_user, ada, account_a):
    template = TemplateFactory(account=account_a, body="Hi {{1}} and {{2}}")
    row = as_user(ada).get(f"/api/v1/templates/{template.pk}/").json()
    assert CONTRACT_FIELDS <= set(row)
    assert row["param_count"] == 2


def test_an_agent_reads_only_approved_templates_of_its_queues_accounts(as_user, alice, account_a, account_b):
    mine = TemplateFactory(account=account_a, status="approved")
    TemplateFactory(account=account_a, status="draft")
    TemplateFactory(account=account_b, status="approved")
    rows = as_user(alice).get("/api/v1/templates/").json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]


def test_only_admins_write(as_user, alice, ada, account_a):
    body = {"account": account_a.pk, "name": "welcome", "language": "en", "body": "Hi {{1}}", "status": "approved"}
    assert as_user(alice).post("/api/v1/templates/", body, format="json").status_code == 403
    response = as_user(ada).post("/api/v1/templates/", body, format="json")
    assert response.status_code == 201, response.json()  # the Sandbox lets an admin approve by hand
    assert response.json()["status"] == "approved"
    again = as_user(ada).post("/api/v1/templates/", body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "template_exists"


def test_a_provider_template_cannot_be_approved_by_hand(as_user, ada, queue_a):
    meta = WhatsAppAccount.objects.create(
        name="Meta", provider="meta", phone_number="+15550001111", credentials=manifest("meta")["credentials"], queue=queue_a
    )
    body = {"account": meta.pk, "name": "welcome", "language": "en", "body": "Hi", "status": "approved"}
    response = as_user(ada).post("/api/v1/templates/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "status_from_provider"


def test_render_fills_the_parameters_or_refuses_a_wrong_count(as_user, alice, account_a):
    template = TemplateFactory(account=account_a, header="Hello", body="Hi {{1}}, order {{2}}", footer="Bye")
    url = f"/api/v1/templates/{template.pk}/render/"
    response = as_user(alice).post(url, {"params": ["Ana", "#7"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"text": "Hi Ana, order #7", "header": "Hello", "footer": "Bye"}
    wrong = as_user(alice).post(url, {"params": ["Ana"]}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_param_count"


def test_sync_over_the_api_returns_the_counts(as_user, ada, alice, queue_a, fake_provider):
    data = manifest("meta")
    meta = WhatsAppAccount.objects.create(
        name="Meta", provider="meta", phone_number=data["phone_number"], credentials=data["credentials"],
        api_base_url=fake_provider.url, queue=queue_a,
    )
    path = f"/{data['credentials']['api_version']}/{data['credentials']['waba_id']}/message_templates"
    fake_provider.route("GET", path, (200, {"data": [
        {"name": "hello", "status": "APPROVED", "language": "en", "id": "1", "components": [{"type": "BODY", "text": "Hi"}]},
    ]}))
    assert as_user(alice).post("/api/v1/templates/sync/", {"account": meta.pk}, format="json").status_code == 403
    response = as_user(ada).post("/api/v1/templates/sync/", {"account": meta.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert Template.objects.get(account=meta).status == "approved"


def test_submit_is_refused_where_the_provider_has_no_submission(as_user, ada, account_a):
    template = TemplateFactory(account=account_a, status="draft")
    response = as_user(ada).post(f"/api/v1/templates/{template.pk}/submit/")
    assert response.status_code == 409 and response.json()["code"] == "submit_unsupported"


def test_render_for_an_interaction_fills_the_contact_mapping_and_names_what_is_missing(as_user, alice, bob, account_a, account_b):
    """The desktop's recontact preview (D7): the same mapping the recontact send uses."""
    template = TemplateFactory(
        account=account_a, body="Hi {{1}}, about {{2}} at {{3}}",
        contact_params=[{"field": "first_name"}, {"value": "your order"}, {"field": "company"}],
    )
    contact = ContactFactory(first_name="Nina", company="")
    interaction = InteractionFactory(account=account_a, contact=contact)
    url = f"/api/v1/templates/{template.pk}/render/"
    response = as_user(alice).post(url, {"interaction": interaction.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "text": "Hi Nina, about your order at {{3}}", "header": "", "footer": "",
        "params": ["Nina", "your order", ""], "missing": [3],
    }
    # Bob's queue does not see that interaction: no one else's contact leaks through the preview.
    bobs = f"/api/v1/templates/{TemplateFactory(account=account_b, body='Hi {{1}}').pk}/render/"
    assert as_user(bob).post(bobs, {"params": ["x"]}, format="json").status_code == 200
    refused = as_user(bob).post(bobs, {"interaction": interaction.pk}, format="json")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"


def test_the_recontact_filter_lists_the_accounts_recontact_template(as_user, alice, account_a):
    chosen = TemplateFactory(account=account_a, name="come_back")
    TemplateFactory(account=account_a, name="other")
    account_a.recontact_template = chosen
    account_a.save()
    rows = as_user(alice).get("/api/v1/templates/", {"account": account_a.pk, "recontact": "true"}).json()["results"]
    assert [row["id"] for row in rows] == [chosen.pk]


@pytest.mark.parametrize("level, shown", [("partial", "Hi N•••, we call +" + "•" * 8 + "567"), ("full", "Hi •••, we call +" + "•" * 11)])
def test_the_recontact_preview_masks_the_contacts_data_for_a_masked_agent(as_user, alice, ada, account_a, level, shown):
    from apps.core.models import InstallationSettings

    InstallationSettings.objects.update_or_create(pk=1, defaults={"masking": level})
    template = TemplateFactory(
        account=account_a, body="Hi {{1}}, we call {{2}}", contact_params=[{"field": "first_name"}, {"field": "phone"}],
    )
    contact = ContactFactory(first_name="Nina", phone="+15550001567")
    interaction = InteractionFactory(account=account_a, contact=contact)
    url = f"/api/v1/templates/{template.pk}/render/"
    masked = as_user(alice).post(url, {"interaction": interaction.pk}, format="json").json()
    assert masked["text"] == shown and "Nina" not in str(masked) and "1567" not in str(masked)
    # An admin sees what the customer will read.
    whole = as_user(ada).post(url, {"interaction": interaction.pk}, format="json").json()
    assert whole["text"] == "Hi Nina, we call +15550001567"
