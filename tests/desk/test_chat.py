"""D3-D5 over the REST API: sending through the provider, attachments, checkmarks, notes, close."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.models import InstallationSettings
from tests.work import run_later_work
from apps.interactions.models import Interaction, Message, Note
from apps.users.models import User
from tests.desk.conftest import api
from tests.webhooks import post_signed, sandbox_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(customer_writes, agent1, agent2):
    interaction = customer_writes("I need help")
    assert api(agent1).post(f"/api/v1/interactions/{interaction.pk}/accept/").status_code == 200
    return Interaction.objects.get(pk=interaction.pk)


@pytest.fixture
def provider(account, fake_provider):
    """Point the Sandbox account at the fake provider so sends go over HTTP and can fail."""
    account.api_base_url = fake_provider.url
    account.save()
    return fake_provider


def send(user, interaction, on_commit, **data):
    with on_commit():
        return api(user).post(f"/api/v1/interactions/{interaction.pk}/messages/", data, format="multipart" if "file" in data else "json")


def test_an_agent_message_is_sent_through_the_accounts_provider(chat, agent1, provider, on_commit):
    def check(req, match):
        body = req.json()
        assert body == {"to": "+15551234567", "type": "text", "text": "On it!"}
        return 200, {"id": "prov-1"}

    provider.route("POST", r"/v1/messages", check)
    response = send(agent1, chat, on_commit, text="On it!")
    assert response.status_code == 201
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.status, message.provider_message_id, message.sender) == ("sent", "prov-1", agent1)
    provider.assert_clean()


def test_a_retryable_provider_error_is_retried_with_backoff(chat, agent1, provider, on_commit):
    answers = [(503, {"error": "busy"}), (429, {"error": "slow down"}, {"Retry-After": "7"}), (200, {"id": "prov-2"})]
    provider.route("POST", r"/v1/messages", lambda req, m: answers.pop(0))
    message_id = send(agent1, chat, on_commit, text="retry me").json()["id"]
    assert Message.objects.get(pk=message_id).status == "queued"
    with on_commit():
        run_later_work()
    with on_commit():
        run_later_work()
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.provider_message_id, message.send_attempts) == ("sent", "prov-2", 3)


def test_a_permanent_provider_error_fails_the_message_with_its_reason(chat, agent1, provider, on_commit):
    provider.route("POST", r"/v1/messages", (400, {"error": "bad number"}))
    message_id = send(agent1, chat, on_commit, text="nope").json()["id"]
    message = Message.objects.get(pk=message_id)
    assert message.status == "failed"
    assert message.error_code == "http_error"  # no provider code: the shared code for an HTTP 4xx
    assert "bad number" in message.error_message


def test_checkmarks_follow_the_status_callbacks(chat, agent1, account, client, on_commit):
    message_id = send(agent1, chat, on_commit, text="hello").json()["id"]
    message = Message.objects.get(pk=message_id)
    assert message.status == "sent"  # handed to the in-app Sandbox cloud
    for status in ("delivered", "read"):
        with on_commit():
            post_signed(client, account, sandbox_status(message_id=message.provider_message_id, status=status), content_type="application/json")
        message.refresh_from_db()
        assert message.status == status


def test_an_attachment_is_sent_as_media(chat, agent1, provider, on_commit):
    seen = {}

    def check(req, match):
        seen.update(req.json())
        return 200, {"id": "prov-media"}

    provider.route("POST", r"/v1/messages", check)
    upload = SimpleUploadedFile("photo.png", b"\x89PNG...", content_type="image/png")
    response = send(agent1, chat, on_commit, file=upload, text="see this")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "image"
    assert body["attachment"]["filename"] == "photo.png"
    assert seen["type"] == "image" and seen["text"] == "see this"
    assert seen["media"]["url"].startswith("http://testserver/media/public/")


def test_the_public_media_link_serves_the_file_to_the_provider(chat, agent1, provider, on_commit, client):
    provider.route("POST", r"/v1/messages", lambda req, m: (200, {"id": "x", "seen": req.json()}))
    upload = SimpleUploadedFile("doc.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    send(agent1, chat, on_commit, file=upload)
    url = provider.requests[-1].json()["media"]["url"]
    response = client.get(url.replace("http://testserver", ""))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert client.get("/media/public/forged/").status_code == 404


def test_a_voice_recording_is_sent_as_voice(chat, agent1, on_commit):
    upload = SimpleUploadedFile("voice.webm", b"OggS....", content_type="audio/webm")
    response = send(agent1, chat, on_commit, file=upload, voice="1")
    assert response.json()["kind"] == "voice"


def test_an_attachment_over_the_limit_is_refused_clearly(chat, agent1, on_commit):
    InstallationSettings.objects.update(attachment_max_bytes=10)
    upload = SimpleUploadedFile("big.bin", b"x" * 11, content_type="application/octet-stream")
    response = send(agent1, chat, on_commit, file=upload)
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_too_large"
    assert not Message.objects.filter(direction="out").exists()


def test_attachments_can_be_disabled(chat, agent1, on_commit):
    InstallationSettings.objects.update(attachments_enabled=False)
    upload = SimpleUploadedFile("a.txt", b"hi", content_type="text/plain")
    response = send(agent1, chat, on_commit, file=upload)
    assert (response.status_code, response.json()["code"]) == (403, "attachments_disabled")


def test_only_the_owner_can_send(chat, agent2, on_commit):
    response = send(agent2, chat, on_commit, text="hijack")
    assert (response.status_code, response.json()["code"]) == (409, "not_owner")


def test_reading_clears_the_unread_count(chat, agent1, customer_writes):
    customer_writes("are you there?")
    assert Interaction.objects.get(pk=chat.pk).unread_count == 2
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/read/")
    assert response.json()["unread_count"] == 0
    assert not Message.objects.filter(interaction=chat, direction="in", seen_at__isnull=True).exists()


def test_a_note_stays_internal(chat, agent1, provider, on_commit):
    with on_commit():
        response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/notes/", {"text": "VIP, be nice"}, format="json")
    assert response.status_code == 201
    assert Note.objects.get().kind == "agent"
    assert provider.requests == []  # nothing went to the provider
    listed = api(agent1).get(f"/api/v1/interactions/{chat.pk}/notes/").json()["results"]
    assert [n["text"] for n in listed] == ["VIP, be nice"]


def test_a_supervisor_note_is_marked_as_such(chat, supervisor):
    response = api(supervisor).post(f"/api/v1/interactions/{chat.pk}/notes/", {"text": "check refund"}, format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "supervisor"


def test_close_and_dispose(chat, agent1, support):
    disposition = support.dispositions.create(name="Solved")
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/close/", {"disposition": disposition.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    chat.refresh_from_db()
    assert chat.disposition == disposition and chat.closed_by == agent1


def test_close_accepts_an_empty_body(chat, agent1):
    assert api(agent1).post(f"/api/v1/interactions/{chat.pk}/close/").status_code == 200


def test_a_disposition_of_another_queue_is_refused(chat, agent1):
    from apps.queues.models import Disposition, Queue

    other = Disposition.objects.create(queue=Queue.objects.create(name="X"), name="Nope")
    response = api(agent1).post(f"/api/v1/interactions/{chat.pk}/close/", {"disposition": other.pk}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_disposition")


def test_after_close_the_next_message_opens_a_new_interaction(chat, agent1, customer_writes):
    api(agent1).post(f"/api/v1/interactions/{chat.pk}/close/")
    again = customer_writes("one more thing")
    assert again.pk != chat.pk and again.status == "waiting"


def test_the_transcript_is_a_pdf(chat, agent1):
    # Agents need the permission (CONTRACT.md: can_download_transcripts, false for agents by default).
    User.objects.filter(pk=agent1.pk).update(transcripts_permission=True)
    agent1.refresh_from_db()
    response = api(agent1).get(f"/api/v1/interactions/{chat.pk}/transcript.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_send_refused_for_the_24_hour_window_fails_clearly_and_closes_the_window(chat, agent1, account, fake_provider, on_commit):
    from tests.webhooks import manifest

    account.provider = "meta"
    account.credentials = manifest("meta")["credentials"]
    account.api_base_url = fake_provider.url
    account.save()
    error = {
        "error": {
            "message": "(#131047) Re-engagement message",
            "type": "OAuthException",
            "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "fbtrace_id": "AbC",
        }
    }
    fake_provider.route("POST", r"/v[0-9.]+/[0-9]+/messages", (400, error))
    message_id = send(agent1, chat, on_commit, text="too late").json()["id"]
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.error_code, message.window_closed_error) == ("failed", "131047", True)
    assert "24 hours" in message.error_message
    assert not Interaction.objects.get(pk=chat.pk).window_open()
    refused = api(agent1).post(f"/api/v1/interactions/{chat.pk}/messages/", {"text": "again"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "window_closed")


def test_an_admin_retry_sends_a_failed_message_again(chat, agent1, provider, on_commit):
    from apps.core import work
    from apps.core.models import Job

    answers = [(400, {"error": "bad gateway config"}), (200, {"id": "prov-again"})]
    provider.route("POST", r"/v1/messages", lambda req, m: answers.pop(0))
    message_id = send(agent1, chat, on_commit, text="second chance").json()["id"]
    assert Message.objects.get(pk=message_id).status == "failed"
    job = Job.objects.get(key=f"send:{message_id}")
    assert job.state == "failed"
    with on_commit():
        assert work.retry_failed([job.pk]) == 1
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.provider_message_id, message.error_message) == ("sent", "prov-again", "")
    assert not Job.objects.filter(key=f"send:{message_id}").exists()
