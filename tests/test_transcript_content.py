"""PDF transcripts (D10, S3): the permission, and what the text of the PDF says."""
from __future__ import annotations

import io
from datetime import datetime, timezone as dt_timezone

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader
from rest_framework.test import APIClient

from apps.core.models import InstallationSettings
from apps.interactions.models import InteractionEvent
from apps.users.models import User
from tests.factories import InteractionFactory, MessageFactory, NoteFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 1, 12, 0, 5, tzinfo=dt_timezone.utc)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def cast(db):
    queue = QueueFactory(name="Support")
    agent = UserFactory(username="agent1", first_name="Alice", queues=[queue])
    other = UserFactory(username="agent2", first_name="Bob", queues=[queue])
    boss = UserFactory(username="sam", first_name="Sam", role=User.Role.SUPERVISOR)
    interaction = InteractionFactory(
        account__name="Demo WhatsApp", account__queue=queue, customer_phone="+15551234567", customer_name="Carla Rossi",
        status="open", owner=agent, first_agent=agent, started_at=AT,
    )
    MessageFactory(interaction=interaction, text="Привет 👋 where is my order?", created_at=AT)
    MessageFactory(interaction=interaction, direction="out", status="delivered", sender=agent, text="On its way", created_at=AT.replace(minute=1))
    failed = MessageFactory(interaction=interaction, direction="out", status="failed", error_code="131047", sender=agent,
                            text="Anything else?", created_at=AT.replace(minute=2))
    photo = MessageFactory(interaction=interaction, kind="image", text="the box", created_at=AT.replace(minute=3),
                           attachment_filename="box.jpg", attachment_content_type="image/jpeg", attachment_size=2048)
    photo.attachment.save("box.jpg", ContentFile(b"\xff\xd8jpeg"), save=True)
    NoteFactory(interaction=interaction, author=agent, text="Customer is VIP", created_at=AT.replace(minute=4))
    NoteFactory(interaction=interaction, author=boss, kind="supervisor", text="Offer a discount", created_at=AT.replace(minute=5))
    InteractionEvent.objects.create(interaction=interaction, kind="accepted", actor=agent, created_at=AT.replace(second=30))
    InteractionEvent.objects.create(
        interaction=interaction, kind="transfer_requested", actor=agent, data={"to_agent": other.pk}, created_at=AT.replace(minute=6)
    )
    InteractionEvent.objects.create(
        interaction=interaction, kind="transfer_declined_by_agent", actor=other, created_at=AT.replace(minute=7)
    )
    return {"agent": agent, "other": other, "boss": boss, "interaction": interaction, "failed": failed}


def pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def url(interaction) -> str:
    return f"/api/v1/interactions/{interaction.pk}/transcript.pdf"


def test_an_agent_without_the_permission_gets_403_no_transcript_permission(cast):
    response = api(cast["agent"]).get(url(cast["interaction"]))
    assert (response.status_code, response.json()["code"]) == (403, "no_transcript_permission")


def test_supervisors_and_admins_have_the_permission_by_default_and_it_can_be_taken_away(cast):
    boss = cast["boss"]
    assert boss.can_download_transcripts and not cast["agent"].can_download_transcripts
    assert api(boss).get(url(cast["interaction"])).status_code == 200
    User.objects.filter(pk=boss.pk).update(transcripts_permission=False)
    boss.refresh_from_db()
    assert api(boss).get(url(cast["interaction"])).json()["code"] == "no_transcript_permission"


def test_an_admin_grants_the_permission_through_the_users_api(cast):
    admin = UserFactory(username="ada", role=User.Role.ADMIN)
    agent = cast["agent"]
    assert api(admin).get(f"/api/v1/users/{agent.pk}/").json()["can_download_transcripts"] is False
    response = api(admin).patch(f"/api/v1/users/{agent.pk}/", {"can_download_transcripts": True}, format="json")
    assert response.status_code == 200 and response.json()["can_download_transcripts"] is True
    agent.refresh_from_db()
    assert "On its way" in pdf_text(api(agent).get(url(cast["interaction"])))


def test_the_transcript_shows_directions_statuses_attachments_notes_and_events(cast, settings):
    settings.TIME_ZONE = "Europe/Rome"
    text = pdf_text(api(cast["boss"]).get(url(cast["interaction"])))
    assert "Demo WhatsApp" in text
    assert "Carla Rossi" in text and "+15551234567" in text
    assert "Alice" in text  # the agent
    assert "In · Carla Rossi" in text and "Out · Alice" in text
    assert "[received]" in text and "[delivered]" in text and "[failed 131047]" in text
    assert "Attachment: box.jpg" in text and "2.0 KB" in text
    assert "Internal note · Alice" in text and "Customer is VIP" in text
    assert "Supervisor note (internal) · Sam" in text and "Offer a discount" in text
    assert "Assigned · Alice" in text
    assert "Transfer requested · Alice (to Bob)" in text
    assert "Transfer declined · Bob" in text
    # 12:01:05 UTC is 13:01:05 in Rome on 1 March.
    assert "2026-03-01 13:01:05" in text and "Europe/Rome" in text
    assert "Привет" in text and "👋" in text


def test_the_contact_is_masked_per_settings(cast):
    InstallationSettings.objects.update_or_create(pk=1, defaults={"masking": "full"})
    agent = cast["agent"]
    User.objects.filter(pk=agent.pk).update(transcripts_permission=True)
    agent.refresh_from_db()
    text = pdf_text(api(agent).get(url(cast["interaction"])))
    assert "+15551234567" not in text and "Carla Rossi" not in text


def test_another_agent_never_reads_the_supervisors_note_in_a_transcript(cast):
    other = cast["other"]
    User.objects.filter(pk=other.pk).update(transcripts_permission=True)
    other.refresh_from_db()
    text = pdf_text(api(other).get(url(cast["interaction"])))
    assert "Customer is VIP" in text
    assert "Offer a discount" not in text
