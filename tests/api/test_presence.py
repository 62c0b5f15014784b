from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_user_sets_its_own_presence(as_user, alice):
    response = as_user(alice).post("/api/v1/presence/", {"presence": "online"}, format="json")
    assert response.status_code == 200
    assert response.json()["presence"] == "online"
    assert response.json()["id"] == alice.pk
    alice.refresh_from_db()
    assert alice.presence == "online"


def test_presence_goes_through_the_service(as_user, alice, monkeypatch):
    calls = []
    import apps.users.api.views as views

    real = views.user_set_presence
    monkeypatch.setattr(views, "user_set_presence", lambda **kw: calls.append(kw) or real(**kw))
    as_user(alice).post("/api/v1/presence/", {"presence": "paused"}, format="json")
    assert [c["presence"] for c in calls] == ["paused"]
    assert calls[0]["user"].pk == alice.pk


def test_an_unknown_presence_is_a_400_with_a_code(as_user, alice):
    response = as_user(alice).post("/api/v1/presence/", {"presence": "asleep"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "presence" in response.json()["errors"]


def test_presence_needs_authentication(anon, db):
    assert anon.post("/api/v1/presence/", {"presence": "online"}, format="json").status_code == 401
