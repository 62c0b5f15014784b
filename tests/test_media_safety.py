"""Stored files are served so that none can run as a page of our origin (issue 7, deliverable 4).

Each URL that serves a stored file (the API's attachment, the provider-facing public link, the
simulator's media) sends an uploaded ``.html`` or ``.svg`` as a download, with ``nosniff`` and a
sandboxing CSP; an image stays inline. Public links expire after hours.
"""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.media import is_inline_safe
from apps.interactions.models import Message
from apps.interactions.services import public_media_url
from apps.interactions.views import PUBLIC_MEDIA_MAX_AGE_DEFAULT
from apps.providers.models import SandboxMessage
from tests.api.conftest import client_for
from tests.factories import InteractionFactory, QueueFactory, UserFactory, WhatsAppAccountFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32
HTML = b"<html><script>fetch('/api/v1/users/me/').then(r => r.text()).then(alert)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'

RISKY = [("page.html", "text/html", HTML), ("logo.svg", "image/svg+xml", SVG)]
IMAGE = ("photo.png", "image/png", PNG)


@pytest.fixture
def queue():
    return QueueFactory(name="Support")


@pytest.fixture
def account(queue):
    return WhatsAppAccountFactory(name="Demo WhatsApp", queue=queue)


@pytest.fixture
def alice(queue):
    return UserFactory(username="alice", queues=[queue])


@pytest.fixture
def chat(account, alice):
    return InteractionFactory(account=account, status="open", owner=alice, first_agent=alice)


def agent_upload(alice, chat, name: str, content_type: str, body: bytes) -> Message:
    """An agent's attachment, sent through the API as the desktop sends it."""
    response = client_for(alice).post(
        f"/api/v1/interactions/{chat.pk}/messages/",
        {"file": SimpleUploadedFile(name, body, content_type=content_type)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["id"])


def customer_upload(client, alice, account, name: str, content_type: str, body: bytes) -> str:
    """A simulated customer's file, sent from the simulator page: the path of its media URL.
    (An admin allows alice to use the simulator: tests/test_simulator_access.py.)"""
    from django.contrib.auth.models import Permission

    alice.user_permissions.add(Permission.objects.get(content_type__app_label="providers", codename="view_sandboxmessage"))
    client.force_login(alice)
    response = client.post(
        f"/simulator/api/accounts/{account.pk}/send/",
        {"phone": "+15551234567", "file": SimpleUploadedFile(name, body, content_type=content_type)},
    )
    assert response.status_code == 201, response.content
    return urlsplit(response.json()["media_url"]).path


def public_path(message: Message) -> str:
    return urlsplit(public_media_url(message)).path


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_downloaded(response, filename: str, body: bytes) -> None:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f'filename="{filename}"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert content(response) == body


def assert_inline(response, filename: str, body: bytes) -> None:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert f'filename="{filename}"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert content(response) == body


# ----- the API's attachment -----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content_type", "body"), RISKY)
def test_an_uploaded_html_or_svg_is_only_downloaded_from_the_api(alice, chat, name, content_type, body):
    message = agent_upload(alice, chat, name, content_type, body)
    response = client_for(alice).get(f"/api/v1/messages/{message.pk}/attachment/", HTTP_ACCEPT="*/*")
    assert_downloaded(response, name, body)
    assert response["Content-Type"] == content_type


def test_an_image_stays_inline_in_the_api(alice, chat):
    message = agent_upload(alice, chat, *IMAGE)
    response = client_for(alice).get(f"/api/v1/messages/{message.pk}/attachment/", HTTP_ACCEPT="image/*")
    assert_inline(response, "photo.png", PNG)
    assert response["Content-Type"] == "image/png"


def test_download_1_makes_even_an_image_a_download(alice, chat):
    message = agent_upload(alice, chat, *IMAGE)
    response = client_for(alice).get(f"/api/v1/messages/{message.pk}/attachment/?download=1")
    assert_downloaded(response, "photo.png", PNG)


def test_the_stored_type_decides_not_the_file_name(alice, chat):
    message = agent_upload(alice, chat, "innocent.png", "text/html", HTML)
    response = client_for(alice).get(f"/api/v1/messages/{message.pk}/attachment/")
    assert_downloaded(response, "innocent.png", HTML)
    assert response["Content-Type"] == "text/html"


# ----- the provider-facing public link ------------------------------------------------------------
@pytest.mark.parametrize(("name", "content_type", "body"), RISKY)
def test_an_uploaded_html_or_svg_is_only_downloaded_from_the_public_link(client, alice, chat, name, content_type, body):
    message = agent_upload(alice, chat, name, content_type, body)
    response = client.get(public_path(message))
    assert_downloaded(response, name, body)
    # Providers check the media type of what they fetch: it stays the stored one.
    assert response["Content-Type"] == content_type


def test_an_image_stays_inline_on_the_public_link(client, alice, chat):
    message = agent_upload(alice, chat, *IMAGE)
    assert_inline(client.get(public_path(message)), "photo.png", PNG)


def signed_ago(message: Message, age: timedelta, monkeypatch) -> str:
    """A public link as ``public_media_url`` made it ``age`` ago."""
    then = int(time.time() - age.total_seconds())
    with monkeypatch.context() as patch:
        patch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(then))
        return public_path(message)


def test_a_public_link_works_for_an_hour(client, alice, chat, monkeypatch):
    message = agent_upload(alice, chat, *IMAGE)
    assert client.get(signed_ago(message, timedelta(hours=1), monkeypatch)).status_code == 200


def test_a_public_link_expires_after_hours_not_days(client, alice, chat, monkeypatch):
    assert PUBLIC_MEDIA_MAX_AGE_DEFAULT <= timedelta(hours=12)
    message = agent_upload(alice, chat, *IMAGE)
    path = signed_ago(message, PUBLIC_MEDIA_MAX_AGE_DEFAULT + timedelta(minutes=1), monkeypatch)
    response = client.get(path)
    assert response.status_code == 404
    assert not response.has_header("Content-Disposition")


def test_the_public_link_lifetime_is_a_setting(client, settings, alice, chat, monkeypatch):
    settings.INSTANT_PUBLIC_MEDIA_MAX_AGE = 60
    message = agent_upload(alice, chat, *IMAGE)
    assert client.get(signed_ago(message, timedelta(seconds=30), monkeypatch)).status_code == 200
    assert client.get(signed_ago(message, timedelta(minutes=2), monkeypatch)).status_code == 404


def test_a_tampered_public_link_is_a_404(client, alice, chat):
    message = agent_upload(alice, chat, *IMAGE)
    path = public_path(message)
    assert client.get(path.rstrip("/") + "x/").status_code == 404


# ----- the simulator's media ----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content_type", "body"), RISKY)
def test_an_uploaded_html_or_svg_is_only_downloaded_from_the_simulator(client, alice, account, name, content_type, body):
    path = customer_upload(client, alice, account, name, content_type, body)
    client.logout()  # the media URL is public, like a provider's
    assert_downloaded(client.get(path), name, body)


def test_an_image_stays_inline_in_the_simulator(client, alice, account):
    path = customer_upload(client, alice, account, *IMAGE)
    assert SandboxMessage.objects.get().content_type == "image/png"
    assert_inline(client.get(path), "photo.png", PNG)


# ----- the rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content_type", "inline"),
    [
        ("image/png", True),
        ("image/jpeg", True),
        ("image/webp", True),
        ("IMAGE/GIF; name=x", True),
        ("audio/ogg; codecs=opus", True),
        ("video/mp4", True),
        ("application/pdf", True),
        ("image/svg+xml", False),
        ("text/html", False),
        ("application/xhtml+xml", False),
        ("text/xml", False),
        ("text/plain", False),
        ("application/javascript", False),
        ("application/octet-stream", False),
        ("", False),
        (None, False),
        ("image/png\r\nX-Evil: 1", False),
    ],
)
def test_only_inert_media_types_are_inline_safe(content_type, inline):
    assert is_inline_safe(content_type) is inline
