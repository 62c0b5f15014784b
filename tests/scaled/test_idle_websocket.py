"""In the scaled mode an idle desktop socket stays open and keeps receiving events.

redis-py 8 gives every connection a 5 s socket timeout, and channels-redis waits for messages with a
5 s blocking pop: with those defaults every idle desktop socket closed with 1011 after 5 to 16 s.
"""
from __future__ import annotations

import json

import httpx

from apps.providers import sandbox

from .live import DesktopSocket, ScaledApp

IDLE_SECONDS = 35
EVENT_TIMEOUT = 30


def _demo_webhook_url(app: ScaledApp) -> str:
    response = app.api("GET", "/accounts/", token=app.token("admin", "admin"))
    assert response.status_code == 200, response.text
    (account,) = [a for a in response.json()["results"] if a["name"] == "Demo WhatsApp"]
    return account["webhook_url"]


def _customer_writes(webhook_url: str, *, phone: str, message_id: str) -> None:
    body = json.dumps(
        {"event": "message", "message": {"id": message_id, "from": phone, "name": "Idle Test", "type": "text", "text": "hi"}}
    ).encode()
    response = httpx.post(
        webhook_url,
        content=body,
        headers={"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(webhook_url, body)},
        timeout=15,
    )
    assert response.status_code == 200, response.text


def test_an_idle_desktop_socket_still_receives_an_offer_after_35_seconds(scaled_app: ScaledApp):
    response = scaled_app.api("POST", "/presence/", token=scaled_app.token("agent1", "agent1"), json={"presence": "online"})
    assert response.status_code == 200, response.text
    webhook_url = _demo_webhook_url(scaled_app)
    socket = DesktopSocket(scaled_app, scaled_app.login_session("agent1", "agent1"))
    try:
        socket.stay_idle(IDLE_SECONDS)

        # A new customer's message is processed by the Celery worker; its offer reaches the web server, and
        # this socket, through the Redis channel layer.
        _customer_writes(webhook_url, phone="+15550109876", message_id="idle-socket-1")
        event = socket.next_event("interaction.offered", timeout=EVENT_TIMEOUT)
    finally:
        socket.close()

    assert event["data"]["interaction"]["customer_phone"] == "+15550109876"
    assert event["data"]["expires_at"]
