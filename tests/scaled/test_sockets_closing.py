"""Desktop sockets that close together leave nothing behind in Redis, and the others still get events.

With the pub/sub channel layer each web process holds one Redis subscription per open socket and one
per group it has members in (apps/core/channel_layer.py). Half the sockets close at once: their
subscriptions go, the groups' stay (the survivors are in them), and an offer still reaches every
survivor through the Celery worker.
"""
from __future__ import annotations

import time

import redis

from .live import DesktopSocket, ScaledApp
from .test_idle_websocket import EVENT_TIMEOUT, _customer_writes, _demo_webhook_url

SOCKETS = 8


def _socket_subscriptions(app: ScaledApp) -> int:
    db = app.env["REDIS_URL"].rsplit("/", 1)[1]
    client = redis.Redis.from_url(app.env["REDIS_URL"])
    try:
        return len(client.pubsub_channels(f"asgi.{db}.specific.*"))
    finally:
        client.close()


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_sockets_closing_at_once_leave_no_subscription_and_the_others_still_get_offers(scaled_app: ScaledApp):
    response = scaled_app.api("POST", "/presence/", token=scaled_app.token("agent2", "agent2"), json={"presence": "online"})
    assert response.status_code == 200, response.text
    session = scaled_app.login_session("agent2", "agent2")
    before = _socket_subscriptions(scaled_app)
    sockets = [DesktopSocket(scaled_app, session) for _ in range(SOCKETS)]
    try:
        assert _until(lambda: _socket_subscriptions(scaled_app) == before + SOCKETS, 10)
        leaving, staying = sockets[: SOCKETS // 2], sockets[SOCKETS // 2 :]
        for socket in leaving:
            socket._proc.terminate()  # all at once, then reaped
        for socket in leaving:
            socket.close()
        assert _until(lambda: _socket_subscriptions(scaled_app) == before + len(staying), 10), _socket_subscriptions(
            scaled_app
        )

        _customer_writes(_demo_webhook_url(scaled_app), phone="+15550107777", message_id="closing-sockets-1")
        for socket in staying:
            event = socket.next_event("interaction.offered", timeout=EVENT_TIMEOUT)
            assert event["data"]["interaction"]["customer_phone"] == "+15550107777"
    finally:
        for socket in sockets:
            socket.close()
