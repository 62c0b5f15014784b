"""The customer simulator's page and JSON API (PRODUCT C1), driving the real webhook path in-process."""
from __future__ import annotations

import json

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import Client

from apps.interactions.models import Interaction, Message
from apps.interactions.services import interaction_accept, message_send
from apps.providers import sandbox
from apps.providers.models import SandboxMessage
from tests.factories import QueueFactory, UserFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

PHONE = "+15551234567"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def queue():
    return QueueFactory(name="Support")


@pytest.fixture
def account(queue):
    return WhatsAppAccountFactory(name="Demo WhatsApp", queue=queue)


@pytest.fixture
def agent(queue):
    return UserFactory(username="alice", queues=[queue])


@pytest.fixture
def customer(client, agent):
    """Whoever plays the customer needs the simulator's permission (tests/test_simulator_access.py);
    here an admin gave it to the agent herself."""
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(content_type__app_label="providers", codename="view_sandboxmessage"))
    client.force_login(agent)
    return client


def url(account, action: str) -> str:
    return f"/simulator/api/accounts/{account.pk}/{action}/"


def send(customer, account, on_commit, **data):
    data.setdefault("phone", PHONE)
    with on_commit():
        return customer.post(url(account, "send"), data)


def ack(customer, account, on_commit, message_id: str, status: str):
    with on_commit():
        return customer.post(
            url(account, "ack"), json.dumps({"message_id": message_id, "status": status}), content_type="application/json"
        )


def agent_reply(agent, on_commit, text: str = "Hello, how can I help?", phone: str = PHONE) -> Message:
    interaction = Interaction.objects.get(customer_phone=phone)
    interaction_accept(interaction_id=interaction.pk, user=agent)
    with on_commit():
        message = message_send(interaction_id=interaction.pk, user=agent, text=text)
    message.refresh_from_db()
    return message


# ----- the page ---------------------------------------------------------------------------------
def test_the_page_requires_a_login(client):
    response = client.get("/simulator/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/simulator/")


def test_the_page_embeds_the_sandbox_accounts_only(customer, account):
    WhatsAppAccountFactory(name="Meta line", provider="meta")
    response = customer.get("/simulator/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sim-accounts"' in html
    embedded = json.loads(html.split('id="sim-accounts" type="application/json">')[1].split("</script>")[0])
    assert embedded == [{"id": account.pk, "name": "Demo WhatsApp", "phone_number": account.phone_number}]
    for selector in ("sim-account", "sim-phone", "sim-name", "sim-text", "sim-file", "sim-send", "sim-messages",
                     "sim-mark-all-read", "sim-connection"):
        assert f'id="{selector}"' in html
    assert "+15551234567" in html
    assert "csrftoken" in response.cookies


def test_the_api_answers_401_in_json_without_a_login(client, account):
    response = client.get(url(account, "messages"), {"phone": PHONE})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_only_sandbox_accounts_have_a_simulator(customer):
    meta = WhatsAppAccountFactory(provider="meta")
    assert customer.get(url(meta, "messages"), {"phone": PHONE}).status_code == 404


# ----- the customer writes ----------------------------------------------------------------------
def test_a_customer_text_reaches_instant_through_the_webhook(customer, account, on_commit):
    response = send(customer, account, on_commit, phone="+1 555 123 4567", name="Jane", text="Hi there")
    assert response.status_code == 201
    body = response.json()
    assert body["direction"] == "from_customer"
    assert body["customer_phone"] == PHONE
    assert body["text"] == "Hi there"

    interaction = Interaction.objects.get()
    assert interaction.customer_phone == PHONE
    assert interaction.account == account
    message = interaction.messages.get()
    assert (message.direction, message.text, message.provider_message_id) == ("in", "Hi there", body["id"])


def test_a_customer_file_is_stored_as_an_image_with_its_attachment(customer, account, on_commit):
    upload = SimpleUploadedFile("dot.png", PNG, content_type="image/png")
    response = send(customer, account, on_commit, text="a picture", file=upload)
    assert response.status_code == 201
    assert response.json()["kind"] == "image"
    assert response.json()["media_url"].startswith("http://testserver/simulator/media/")

    message = Message.objects.get()
    assert message.kind == "image"
    assert message.text == "a picture"
    assert message.attachment
    with message.attachment.open("rb") as fh:
        assert fh.read() == PNG


def test_a_bad_number_is_refused_with_a_code(customer, account, on_commit):
    response = send(customer, account, on_commit, phone="5551234", text="hi")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert response.json()["detail"]
    assert not SandboxMessage.objects.exists()


def test_an_empty_message_is_refused_with_a_code(customer, account, on_commit):
    response = send(customer, account, on_commit, text="   ")
    assert response.status_code == 400
    assert response.json()["code"] == "empty"


def test_the_list_holds_that_customers_messages_in_order(customer, account, agent, on_commit):
    send(customer, account, on_commit, text="first")
    send(customer, account, on_commit, text="second")
    send(customer, account, on_commit, phone="+15559876543", text="someone else")
    reply = agent_reply(agent, on_commit)

    response = customer.get(url(account, "messages"), {"phone": "+1 (555) 123-4567"})
    assert response.status_code == 200
    data = response.json()
    assert data["phone"] == PHONE
    assert [(m["direction"], m["text"]) for m in data["results"]] == [
        ("from_customer", "first"),
        ("from_customer", "second"),
        ("to_customer", reply.text),
    ]
    assert data["results"][2]["id"] == reply.provider_message_id


def test_the_list_refuses_a_bad_number(customer, account):
    response = customer.get(url(account, "messages"), {"phone": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"


# ----- acks -------------------------------------------------------------------------------------
def test_acks_move_the_agents_message_to_delivered_then_read(customer, account, agent, on_commit):
    send(customer, account, on_commit, text="hi")
    reply = agent_reply(agent, on_commit)
    assert reply.status == "sent"

    response = ack(customer, account, on_commit, reply.provider_message_id, "delivered")
    assert response.status_code == 200
    assert response.json()["status"] == "delivered"
    reply.refresh_from_db()
    assert reply.status == "delivered"

    response = ack(customer, account, on_commit, reply.provider_message_id, "read")
    assert response.json()["status"] == "read"
    reply.refresh_from_db()
    assert reply.status == "read"


def test_read_never_goes_back_to_delivered(customer, account, agent, on_commit):
    send(customer, account, on_commit, text="hi")
    reply = agent_reply(agent, on_commit)
    ack(customer, account, on_commit, reply.provider_message_id, "read")
    response = ack(customer, account, on_commit, reply.provider_message_id, "delivered")
    assert response.json()["status"] == "read"
    reply.refresh_from_db()
    assert reply.status == "read"


def test_an_ack_needs_a_known_agent_message_and_a_valid_status(customer, account, on_commit):
    sent = send(customer, account, on_commit, text="hi").json()
    assert ack(customer, account, on_commit, "sbx-nope", "read").status_code == 404
    # The customer cannot ack their own message: only messages *to* the customer are acked.
    assert ack(customer, account, on_commit, sent["id"], "read").status_code == 404
    response = ack(customer, account, on_commit, sent["id"], "sent")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_status"
    response = customer.post(url(account, "ack"), "not json", content_type="application/json")
    assert response.status_code == 400


def test_posts_need_the_csrf_token_from_the_cookie(customer, agent, account, on_commit):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent)
    assert browser.post(url(account, "send"), {"phone": PHONE, "text": "hi"}).status_code == 403
    token = browser.get("/simulator/").cookies["csrftoken"].value
    with on_commit():
        response = browser.post(url(account, "send"), {"phone": PHONE, "text": "hi"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201
