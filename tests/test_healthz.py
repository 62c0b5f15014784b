"""``GET /healthz/`` (CONTRACT.md "Health"): 200 while the database (and Redis, when configured)
answers, 503 otherwise; no auth, no session, cheap."""
from __future__ import annotations

import os
import socket
import time

import pytest
from django.db import OperationalError

from apps.core import health
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = None


@pytest.fixture
def silent_redis():
    """A port that accepts connections and never answers: a hung Redis."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_it_answers_ok_when_the_database_answers(client, no_redis):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "not_configured"}}
    assert "no-store" in response["Cache-Control"]


def test_it_needs_no_login_and_touches_no_session(client, no_redis, django_assert_num_queries):
    client.force_login(UserFactory(username="alice"))
    with django_assert_num_queries(1):  # the SELECT 1: no session nor user is loaded
        response = client.get("/healthz/")
    assert response.status_code == 200
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_it_answers_503_when_the_database_does_not(client, no_redis, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "unavailable", "redis": "not_configured"}}


def test_it_answers_503_when_the_configured_redis_refuses_connections(client, settings):
    settings.REDIS_URL = closed_port_url()
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}


def test_a_hung_redis_fails_the_probe_quickly(client, settings, silent_redis):
    settings.REDIS_URL = silent_redis
    started = time.monotonic()
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"
    assert time.monotonic() - started < 3 * health.REDIS_TIMEOUT_SECONDS


def test_it_answers_ok_with_a_live_redis(client, settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("set REDIS_URL to check against a live Redis")
    settings.REDIS_URL = url
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_only_get_and_head_are_allowed(client, no_redis):
    assert client.head("/healthz/").status_code == 200
    assert client.post("/healthz/").status_code == 405
