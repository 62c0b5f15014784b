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
