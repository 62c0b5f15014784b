"""B5 never leaks: a masked agent walks every API endpoint and receives every websocket event type of
a whole conversation, and the customer's full phone, email and name appear nowhere in the bytes.

Also: searching by a guessed value never confirms a number or a name the agent could not see, and
a change of level reaches a socket that was open before it.
"""
from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from apps.contacts import services as contacts
from apps.contacts.models import Contact, ContactListPermission, Tag
from apps.core import realtime
from apps.core.masking import event_for_level
from apps.core.models import InstallationSettings
from apps.interactions import services as interactions
from apps.interactions.models import Interaction, Message
from apps.transfers import services as transfers
from apps.users.models import User
from instant.asgi import application
from tests.api.conftest import client_for
from tests.factories import ContactListFactory, QueueFactory, UserFactory, WhatsAppAccountFactory
from tests.webhooks import post_signed, sandbox_message

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+15551234567"
EMAIL = "carla.rossi@example.com"
FIRST, LAST = "Carla", "Rossi"
# What must never reach a masked agent, in any encoding the API or the socket uses.
FORBIDDEN = [PHONE, PHONE[1:], "5551234567", EMAIL, "carla.rossi", FIRST, LAST]

# Event types a masked agent's desktop cannot receive, and why (everything else must be walked).
NOT_FOR_AGENTS = {
    "sandbox.*": "the customer simulator's socket, not the desktop's",
    "board.updated": "supervisors only",
    "campaign.progress": "admins and supervisors only",
    "transfer.taken": "only when a queue transfer is taken by another agent; same payload as transfer.*",
    "transfer.withdrawn": "same payload builder as every transfer.* event",
    "transfer.cancelled": "same payload builder as every transfer.* event",
    "interaction.offer_withdrawn": "ids only",
}


def leaks(blob: str) -> list[str]:
    return [value for value in FORBIDDEN if value.lower() in blob.lower()]


def set_level(level: str) -> None:
    InstallationSettings.objects.update_or_create(pk=1, defaults={"masking": level})


@pytest.fixture
def cast(db):
    queue = QueueFactory(name="Support")
    agent = UserFactory(username="agent1", first_name="Alice", presence=User.Presence.ONLINE, queues=[queue],
                        can_download_transcripts=True)
    colleague = UserFactory(username="agent2", first_name="Bob", presence=User.Presence.ONLINE, queues=[queue])
    boss = UserFactory(username="sam", first_name="Sam", role=User.Role.SUPERVISOR)
    admin = UserFactory(username="ada", first_name="Ada", role=User.Role.ADMIN)
    contact_list = ContactListFactory(name="Customers")
    ContactListPermission.objects.create(contact_list=contact_list, user=agent, can_edit=True)
    account = WhatsAppAccountFactory(name="Demo", queue=queue, contact_list=contact_list, create_contacts=True)
    return {"queue": queue, "agent": agent, "colleague": colleague, "boss": boss, "admin": admin,
            "list": contact_list, "account": account}


def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(user) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"),
               (b"cookie", await sync_to_async(cookie_for)(user))]
    comm = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def frames(comm, seconds: float = 0.3) -> list[str]:
    out = []
    while not await comm.receive_nothing(timeout=seconds):
        out.append(await comm.receive_from(timeout=5))
    return out


def customer_writes(account, message_id: str, text: str = "Hello"):
    response = post_signed(
        Client(), account, sandbox_message(message_id=message_id, phone=PHONE, text=text, name=f"{FIRST} {LAST}"),
        content_type="application/json",
    )
    assert response.status_code == 200
    return Interaction.objects.exclude(status="closed").get(account=account, customer_phone=PHONE)


def conversation(c) -> dict:
    """One whole conversation, touching every use case that publishes an event."""
    agent, colleague, boss = c["agent"], c["colleague"], c["boss"]
    interaction = customer_writes(c["account"], "m1")
    contact = Contact.objects.get(phone=PHONE)  # D11 created it in the account's list
    interactions.interaction_accept(interaction_id=interaction.pk, user=agent)
    customer_writes(c["account"], "m2", "again")
    interactions.message_send(interaction_id=interaction.pk, user=agent, text="Hi there")
    interactions.note_create(interaction_id=interaction.pk, user=agent, text="internal")
    interactions.note_create(interaction_id=interaction.pk, user=boss, text="coach")
    contacts.contact_update(user=boss, contact_id=contact.pk, data={"email": EMAIL, "last_name": LAST})
    vip = Tag.objects.create(name="VIP", color="#ff0000")
    interactions.interaction_set_contact_and_tags(interaction_id=interaction.pk, user=agent, tag_ids=[vip.pk])
    transfer = transfers.transfer_request(interaction_id=interaction.pk, user=agent, to_agent_id=colleague.pk)
    transfers.transfer_decline(transfer_id=transfer.pk, user=colleague)
    transfer = transfers.transfer_request(interaction_id=interaction.pk, user=agent, to_agent_id=colleague.pk)
    transfers.transfers_expire(now=timezone.now() + timedelta(hours=1))
    transfer = transfers.transfer_request(interaction_id=interaction.pk, user=agent, to_agent_id=colleague.pk)
    transfers.transfer_accept(transfer_id=transfer.pk, user=colleague)
    transfer = transfers.transfer_request(interaction_id=interaction.pk, user=colleague, to_agent_id=agent.pk)
    transfers.transfer_accept(transfer_id=transfer.pk, user=agent)
    Interaction.objects.filter(pk=interaction.pk).update(window_expires_at=timezone.now() - timedelta(seconds=1))
    interactions.windows_expire()
    interactions.interaction_close(interaction_id=interaction.pk, user=agent, disposition_id=None)
    # a second, parallel customer offered to both agents, taken by the colleague
    second = customer_writes(c["account"], "m3")
    interactions.interaction_accept(interaction_id=second.pk, user=colleague)
    contacts.contact_create(user=boss, contact_list_id=c["list"].pk, data={"first_name": FIRST, "last_name": LAST,
                                                                          "phone": "+15557654321", "email": EMAIL})
    client_for(colleague).post("/api/v1/presence/", {"presence": "paused"}, format="json")
    # a media download that fails for good updates its message
    failed = interaction.messages.filter(direction="in").order_by("id").first()
    Message.objects.filter(pk=failed.pk).update(media_state=Message.MediaState.PENDING)
    interactions.media_download_failed(message_id=failed.pk, reason="gone")
    # an admin changes the level and back: every desktop hears of it at once
    level = InstallationSettings.load().masking
    admin = client_for(c["admin"])
    admin.patch("/api/v1/settings/", {"masking": "full" if level == "partial" else "partial"}, format="json")
    admin.patch("/api/v1/settings/", {"masking": level}, format="json")
    return {"interaction": interaction, "contact": contact, "second": second}


@pytest.mark.parametrize("level", ["partial", "full"])
def test_a_masked_agent_receives_no_customer_data_on_the_socket(cast, level, monkeypatch):
    set_level(level)
    published: list[dict] = []
    original = realtime.deliver

    def record(items):
        published.extend(event for _, event in items)
        original(items)

    monkeypatch.setattr(realtime, "deliver", record)

    async def scenario():
        agent_ws, boss_ws = await connect(cast["agent"]), await connect(cast["boss"])
        await sync_to_async(conversation)(cast)
        received = await frames(agent_ws)
        boss_frames = await frames(boss_ws)
        await agent_ws.disconnect()
        await boss_ws.disconnect()
        return received, boss_frames

    received, boss_frames = asyncio.run(scenario())
    assert received
    for frame in received:
        assert not leaks(frame), frame
        assert '"masked"' not in frame
    # The supervisor sees the customer whole (so the scenario did carry the data).
    assert any(PHONE in f for f in boss_frames)

    # Every event type published in the conversation, rendered for a masked agent, is clean too
    # (covers the types that went to other agents' desktops in this scenario).
    seen = {json.loads(f)["type"] for f in received}
    from apps.core.audience import rule_for

    for event in published:
        if rule_for(event["type"]) == "sandbox":
            continue  # the simulator's own socket (tests/test_simulator_access.py), never a desktop
        assert not leaks(json.dumps(event_for_level(event, level), ensure_ascii=False)), event["type"]

    from apps.core.audience import RULES

    expected = {t for t in RULES if "*" not in t and t not in NOT_FOR_AGENTS} | {"transfer.offered", "transfer.declined",
                                                                                "transfer.expired", "transfer.accepted",
                                                                                "contact.created", "contact.updated"}
    published_types = {e["type"] for e in published}
    missing = expected - published_types
    assert not missing, f"the walk misses event types {missing}: add them to the conversation or to NOT_FOR_AGENTS"
    assert {"interaction.offered", "interaction.assigned", "message.created", "contact.updated"} <= seen


def test_a_change_of_level_reaches_a_socket_opened_before(cast):
    set_level("none")

    async def scenario():
        ws = await connect(cast["agent"])
        boss = await connect(cast["boss"])
        response = await sync_to_async(
            lambda: client_for(cast["admin"]).patch("/api/v1/settings/", {"masking": "partial"}, format="json")
        )()
        assert response.status_code == 200
        news = [json.loads(f) for f in await frames(ws)]
        assert {"type": "settings.masking", "data": {"masking": "partial"}} in news
        assert {"type": "settings.masking", "data": {"masking": "none"}} in [json.loads(f) for f in await frames(boss)]
        await sync_to_async(customer_writes)(cast["account"], "late")
        after = await frames(ws)
        assert after and not any(leaks(f) for f in after)
        assert any("•" in json.loads(f).get("data", {}).get("interaction", {}).get("customer_phone", "") for f in after)
        await ws.disconnect()
        await boss.disconnect()

    asyncio.run(scenario())


def _schema_paths(client) -> list[str]:
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    return [path for path, ops in json.loads(schema.content)["paths"].items() if "get" in ops]


@pytest.mark.parametrize("level", ["partial", "full"])
def test_a_masked_agent_finds_no_customer_data_in_any_api_response(cast, level):
    set_level("none")
    made = conversation(cast)
    set_level(level)
    interaction, contact = made["interaction"], made["contact"]
    message = interaction.messages.order_by("id").first()
    client = client_for(cast["agent"])
    ids = {
        "interactions": interaction.pk, "contacts": contact.pk, "contact-lists": cast["list"].pk,
        "messages": message.pk, "users": cast["agent"].pk, "queues": cast["queue"].pk,
        "accounts": cast["account"].pk,
    }
    answered: dict[str, int] = {}
    walked = 0
    for path in _schema_paths(client):
        resource = path.removeprefix("/api/v1/").split("/")[0]

        def value(match: re.Match) -> str:
            name = match.group(1)
            if name == "interaction_id":
                return str(interaction.pk)
            return str(ids.get(resource, 1))

        url = re.sub(r"\{([^}]+)\}", value, path)
        for query in ("", f"?search={PHONE[1:]}", f"?customer_phone={PHONE[1:]}&phone={PHONE[1:]}", f"?q={FIRST}",
                      f"?account={cast['account'].pk}&phone={PHONE[1:]}"):
            response = client.get(url + query)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            walked += 1
            answered[url + query] = response.status_code
            text = body.decode("utf-8", errors="replace")
            if url.endswith(".pdf") and response.status_code == 200:
                text += "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
                assert "Interaction #" in text
            assert not leaks(text), (url + query, leaks(text))
    # The walk did read the customer's data where the agent may see it.
    i, k = interaction.pk, contact.pk
    for url in (f"/api/v1/interactions/", f"/api/v1/interactions/{i}/", f"/api/v1/interactions/{i}/history/",
                f"/api/v1/interactions/{i}/messages/", f"/api/v1/interactions/{i}/transcript.pdf",
                "/api/v1/contacts/", f"/api/v1/contacts/{k}/", f"/api/v1/contacts/{k}/journey/",
                f"/api/v1/contacts/{k}/journey/{i}/messages/", "/api/v1/contacts/export/", "/api/v1/contact-lists/"):
        assert answered.get(url) == 200, (url, answered.get(url))
    assert walked > 40


@pytest.mark.parametrize("level", ["partial", "full"])
def test_searching_never_confirms_a_hidden_number_or_name(cast, level):
    set_level("none")
    conversation(cast)
    set_level(level)
    client = client_for(cast["agent"])

    def count(url: str) -> int:
        return client.get(url).json()["count"]

    right, wrong_same_end, wrong = "15551234567", "19998887567", "15551234000"
    for url in ("/api/v1/interactions/?customer_phone={}", "/api/v1/interactions/?search={}",
                "/api/v1/interactions/?q={}", "/api/v1/contacts/?search={}", "/api/v1/contacts/?phone={}"):
        # the true number and a wrong one that looks the same through the mask answer alike
        assert count(url.format(right)) == count(url.format(wrong_same_end)), url
        if level == "partial" and "?q=" not in url:
            # ... and the digits the agent sees do find the customer
            assert count(url.format("567")) >= 1, url
            assert count(url.format(wrong)) == 0, url
    for url in ("/api/v1/interactions/?search={}", "/api/v1/interactions/?q={}", "/api/v1/interactions/?customer_name={}",
                "/api/v1/contacts/?search={}", "/api/v1/contacts/?first_name={}", "/api/v1/contacts/?email={}"):
        assert count(url.format(FIRST)) == count(url.format("Zelda")) == 0, url
    assert count("/api/v1/contacts/?email=carla.rossi%40example.com") == 0
    # unmasked, the same searches do find them
    set_level("none")
    assert count(f"/api/v1/contacts/?search={FIRST}") >= 1
    assert count(f"/api/v1/interactions/?customer_phone={right}") >= 1


@pytest.mark.parametrize("level", ["partial", "full"])
def test_the_new_conversation_lookup_names_only_visible_contacts_and_masked(cast, level):
    """D8's lookup answers for a number the agent typed (so it may say a contact exists), but
    never with the name in clear, and never a contact of a list the agent may not view."""
    from tests.factories import ContactFactory

    ContactFactory(contact_list=cast["list"], first_name=FIRST, last_name=LAST, phone=PHONE, email=EMAIL)
    hidden = ContactListFactory(name="Hidden")
    ContactFactory(contact_list=hidden, first_name="Zelda", last_name="Secret", phone="+15557654321")
    set_level(level)
    client = client_for(cast["agent"])
    url = f"/api/v1/interactions/lookup/?account={cast['account'].pk}&phone=%2B"
    found = client.get(url + PHONE[1:])
    assert found.status_code == 200, found.content
    assert found.json()["contact"] is not None
    body = json.dumps(found.json(), ensure_ascii=False)
    assert FIRST not in body and LAST not in body and EMAIL not in body
    other = client.get(url + "15557654321").json()
    assert other["contact"] is None and "Zelda" not in json.dumps(other)
    set_level("none")
    assert client.get(url + PHONE[1:]).json()["contact_name"] == f"{FIRST} {LAST}"
