from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_user_gets_a_token_with_username_and_password_and_uses_it(anon, alice):
    response = anon.post("/api/v1/auth/token/", {"username": "alice", "password": "pw"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon.get("/api/v1/users/me/").json()["username"] == "alice"


def test_the_same_token_comes_back_on_a_second_login(anon, alice):
    first = anon.post("/api/v1/auth/token/", {"username": "alice", "password": "pw"}, format="json").json()
    second = anon.post("/api/v1/auth/token/", {"username": "alice", "password": "pw"}, format="json").json()
    assert first == second


def test_a_wrong_password_is_a_400_with_a_code(anon, alice):
    response = anon.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_missing_fields_are_a_400_with_field_errors(anon, db):
    response = anon.post("/api/v1/auth/token/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"username", "password"}


def test_without_credentials_the_api_answers_401_with_a_code(anon, db):
    response = anon.get("/api/v1/interactions/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_bad_token_is_a_401(anon, db):
    anon.credentials(HTTP_AUTHORIZATION="Token nope")
    response = anon.get("/api/v1/interactions/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_session_auth_works_too(client, alice):
    client.force_login(alice)
    assert client.get("/api/v1/users/me/").json()["username"] == "alice"
