from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from apps.interactions.models import InteractionEvent
from tests.factories import InteractionFactory, MessageFactory, NoteFactory

pytestmark = pytest.mark.django_db

MESSAGE_FIELDS = {
    "id", "direction", "kind", "text", "attachment", "provider_message_id", "status", "error_code",
    "error_message", "created_at", "sender",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


@pytest.fixture
def interaction(account_a):
    return InteractionFactory(account=account_a)


@pytest.fixture
def photo(interaction):
    message = MessageFactory(
        interaction=interaction, kind="image", text="the receipt",
        attachment_content_type="image/png", attachment_size=len(PNG), attachment_filename="receipt.png",
    )
    message.attachment.save("receipt.png", ContentFile(PNG))
    return message


def test_messages_come_oldest_first_with_the_contract_fields(as_user, alice, interaction):
    now = timezone.now()
    late = MessageFactory(interaction=interaction, created_at=now)
    early = MessageFactory(interaction=interaction, created_at=now - timedelta(minutes=5))
    reply = MessageFactory(
        interaction=interaction, direction="out", sender=alice, created_at=now,
        status="failed", error_code="131047", error_message="Re-engagement message",
    )
    response = as_user(alice).get(f"/api/v1/interactions/{interaction.pk}/messages/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    rows = body["results"]
    assert [r["id"] for r in rows] == [early.pk, late.pk, reply.pk]
    assert MESSAGE_FIELDS <= set(rows[0])
    assert rows[0]["attachment"] is None
    assert rows[0]["direction"] == "in" and rows[0]["status"] == "received"
    assert rows[2]["sender"] == alice.pk
    assert rows[2]["sender_name"] == "Alice"
    assert rows[2]["error_code"] == "131047"
    assert rows[2]["interaction_id"] == interaction.pk


def test_an_attachment_is_an_object_with_an_absolute_url(as_user, alice, photo):
    row = as_user(alice).get(f"/api/v1/interactions/{photo.interaction_id}/messages/").json()["results"][0]
    assert row["kind"] == "image"
    assert row["text"] == "the receipt"
    assert row["attachment"] == {
        "url": f"http://testserver/api/v1/messages/{photo.pk}/attachment/",
        "content_type": "image/png",
        "size": len(PNG),
        "filename": "receipt.png",
    }


def test_the_attachment_downloads_under_token_auth(as_user, alice, photo):
    response = as_user(alice).get(f"/api/v1/messages/{photo.pk}/attachment/", HTTP_ACCEPT="image/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "receipt.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PNG


def test_a_risky_attachment_is_only_downloaded(as_user, alice, interaction):
    message = MessageFactory(interaction=interaction, kind="document", attachment_content_type="text/html", attachment_filename="x.html")
    message.attachment.save("x.html", ContentFile(b"<script>alert(1)</script>"))
    response = as_user(alice).get(f"/api/v1/messages/{message.pk}/attachment/")
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_attachment_needs_authentication(anon, photo):
    response = anon.get(f"/api/v1/messages/{photo.pk}/attachment/")
    assert response.status_code in (401, 403)


def test_the_attachment_of_an_invisible_interaction_is_a_404(as_user, bob, photo):
    response = as_user(bob).get(f"/api/v1/messages/{photo.pk}/attachment/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_message_without_attachment_is_a_404(as_user, alice, interaction):
    message = MessageFactory(interaction=interaction)
    response = as_user(alice).get(f"/api/v1/messages/{message.pk}/attachment/")
    assert response.status_code == 404
    assert response.json()["code"] == "no_attachment"


def test_the_message_serializer_works_without_a_request(photo):
    from apps.interactions.api.serializers import MessageSerializer

    data = MessageSerializer(photo, context={"request": None}).data
    assert data["attachment"]["url"] == f"http://testserver/api/v1/messages/{photo.pk}/attachment/"
    assert MESSAGE_FIELDS <= set(data)


def test_notes_list_with_their_author(as_user, alice, interaction):
    note = NoteFactory(interaction=interaction, author=alice, text="VIP customer")
    rows = as_user(alice).get(f"/api/v1/interactions/{interaction.pk}/notes/").json()["results"]
    assert rows == [
        {
            "id": note.pk, "interaction_id": interaction.pk, "author": alice.pk, "author_name": "Alice",
            "kind": "agent", "text": "VIP customer", "created_at": rows[0]["created_at"],
        }
    ]


def test_history_lists_the_interaction_events(as_user, sam, interaction, alice):
    InteractionEvent.objects.create(interaction=interaction, kind="accepted", actor=alice, data={"offer": 1})
    rows = as_user(sam).get(f"/api/v1/interactions/{interaction.pk}/history/").json()["results"]
    assert [(r["kind"], r["actor"], r["actor_name"], r["data"]) for r in rows] == [("accepted", alice.pk, "Alice", {"offer": 1})]
