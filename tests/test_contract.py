"""CONTRACT.md, checked as a client would: resources, fields, defaults, error bodies and pages."""
import pytest
from rest_framework.test import APIClient
from apps.users.models import User
from tests.factories import UserFactory, QueueFactory, WhatsAppAccountFactory, InteractionFactory, MessageFactory

pytestmark = pytest.mark.django_db

def test_the_rest_api_keeps_the_shapes_defaults_and_codes_of_the_contract():
    q = QueueFactory(name="Q")
    admin = UserFactory(username="ad", role="admin")
    agent = UserFactory(username="ag", queues=[q])
    acc = WhatsAppAccountFactory(queue=q)
    i = InteractionFactory(account=acc, status="open", owner=agent)
    MessageFactory(interaction=i)
    c = APIClient()
    r = c.post("/api/v1/auth/token/", {"username": "ad", "password": "pw"}, format="json"); assert set(r.json()) == {"token"}
    c.credentials(HTTP_AUTHORIZATION="Token " + r.json()["token"])
    need = {
      "users/": {"id","username","first_name","last_name","email","role","queues","presence"},
      "queues/": {"id","name","agents"},
      "accounts/": {"id","name","provider","phone_number","credentials","api_base_url","queue","webhook_url"},
      "interactions/": {"id","account","queue","contact","customer_phone","status","owner","first_agent","started_at","closed_at","disposition","window_expires_at","last_message_at","last_message_direction","unread_count","tags"},
      f"interactions/{i.pk}/messages/": {"id","direction","kind","text","attachment","provider_message_id","status","error_code","error_message","created_at","sender"},
    }
    for url, fields in need.items():
        body = c.get("/api/v1/" + url).json()
        assert {"count","next","previous","results"} <= set(body), url
        missing = fields - set(body["results"][0]); assert not missing, (url, missing)
    s = c.get("/api/v1/settings/").json()
    assert {"license_plan","transfers","transfer_timeout","attachments_enabled","attachment_max_bytes","masking"} <= set(s)
    assert (s["transfers"], s["transfer_timeout"], s["attachment_max_bytes"], s["masking"]) == ("both", 300, 15*1024*1024, "none")
    assert c.patch("/api/v1/settings/", {"transfer_timeout": 20}, format="json").json()["transfer_timeout"] == 20
    u = c.get("/api/v1/users/").json()["results"][0]; assert "password" not in u
    anon = APIClient().get("/api/v1/interactions/"); assert anon.status_code == 401 and "code" in anon.json()
    assert c.get("/api/v1/interactions/999999/").json()["code"]
    assert c.get("/api/schema/").status_code == 200
    for page in ("/login/", "/api/docs/"):
        assert APIClient().get(page).status_code == 200, page
    for page in ("/desktop/", "/simulator/"):
        assert APIClient().get(page).status_code == 302, page
    ag = APIClient(); ag.force_authenticate(agent)
    assert ag.post("/api/v1/presence/", {"presence": "online"}, format="json").json()["presence"] == "online"
    # can_download_transcripts: true for supervisors and admins by default, so an agent needs it granted.
    r = ag.get(f"/api/v1/interactions/{i.pk}/transcript.pdf"); assert (r.status_code, r.json()["code"]) == (403, "no_transcript_permission")
    agent.can_download_transcripts = True; agent.save()
    r = ag.get(f"/api/v1/interactions/{i.pk}/transcript.pdf"); assert r.status_code == 200


def test_the_new_rows_of_the_contract_keep_their_shapes_and_codes():
    """templates/, campaigns/ (+ recipients/), contact-lists/, contacts/, tags/, board/, lookup/, start/, /healthz/."""
    from apps.contacts.models import ContactListPermission, Tag
    from tests.factories import ContactFactory, ContactListFactory, TemplateFactory

    q = QueueFactory(name="Q")
    admin = UserFactory(username="ad2", role="admin")
    agent = UserFactory(username="ag2", queues=[q])
    clist = ContactListFactory(name="List A")
    acc = WhatsAppAccountFactory(queue=q, contact_list=clist)
    ContactListPermission.objects.create(contact_list=clist, user=agent, can_edit=True)
    ContactFactory(contact_list=clist, phone="+15550001111")
    Tag.objects.create(name="vip", color="#ff0000")
    tpl = TemplateFactory(account=acc, available_for_agents=True)
    c = APIClient(); c.force_authenticate(admin)
    ag = APIClient(); ag.force_authenticate(agent)

    u = c.get("/api/v1/users/").json()["results"][0]
    assert {"can_download_transcripts", "max_open_interactions"} <= set(u)
    a = c.get("/api/v1/accounts/").json()["results"][0]
    assert {"contact_list", "create_contacts", "recontact_template"} <= set(a)
    need = {
        "templates/": {"id", "account", "name", "language", "category", "header", "body", "footer", "param_count",
                       "status", "rejection_reason", "available_for_agents", "provider_template_id"},
        "contact-lists/": {"id", "name", "custom_fields", "can_edit"},
        "contacts/": {"id", "list", "first_name", "last_name", "phone", "email", "company", "custom_fields", "tags",
                      "created_at", "updated_at"},
        "tags/": {"id", "name", "color"},
    }
    for url, fields in need.items():
        body = c.get("/api/v1/" + url).json()
        assert {"count", "next", "previous", "results"} <= set(body), url
        missing = fields - set(body["results"][0]); assert not missing, (url, missing)
    rendered = c.post(f"/api/v1/templates/{tpl.pk}/render/", {"params": ["Ann", "Bo"]}, format="json").json()
    assert {"text", "header", "footer"} <= set(rendered) and "Ann" in rendered["text"]
    r = c.post(f"/api/v1/templates/{tpl.pk}/render/", {"params": ["Ann"]}, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "wrong_param_count")

    camp = c.post("/api/v1/campaigns/", {"name": "C", "account": acc.pk, "template": tpl.pk, "contact_list": clist.pk,
                                         "params": [{"field": "first_name"}, {"value": "us"}]}, format="json")
    assert camp.status_code == 201, camp.json()
    camp = camp.json()
    assert {"id", "name", "account", "template", "contact_list", "params", "scheduled_at", "rate_per_second", "status",
            "total", "pending", "sent", "delivered", "read", "failed", "replied", "created_at", "started_at",
            "finished_at"} <= set(camp)
    assert camp["status"] == "draft"
    recipients = c.get(f"/api/v1/campaigns/{camp['id']}/recipients/").json()
    assert {"count", "next", "previous", "results"} <= set(recipients)
    r = c.post(f"/api/v1/campaigns/{camp['id']}/pause/")
    assert (r.status_code, r.json()["code"]) == (409, "bad_state")
    assert c.patch("/api/v1/settings/", {"license_plan": "inbound"}, format="json").status_code == 200
    r = c.post(f"/api/v1/campaigns/{camp['id']}/launch/")
    assert (r.status_code, r.json()["code"]) == (409, "plan_inbound_only")

    board = c.get("/api/v1/board/").json()
    assert {"id", "name", "waiting", "offered", "open", "agents_online", "agents_paused", "agents_busy"} <= set(board["queues"][0])
    assert {"id", "username", "presence", "open_interactions", "queues"} <= set(board["agents"][0])
    assert ag.get("/api/v1/board/").status_code == 403

    look = ag.get("/api/v1/interactions/lookup/", {"account": acc.pk, "phone": "+15550001111"}).json()
    assert {"contact", "window_open", "open_interaction", "owner", "campaign_pending"} <= set(look)
    r = ag.post("/api/v1/interactions/start/", {"account": acc.pk, "phone": "+15550002222", "text": "hi"}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "window_closed")
    health = APIClient().get("/healthz/")
    assert health.status_code == 200 and health.json()["status"] == "ok"
