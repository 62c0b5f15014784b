from __future__ import annotations

import pytest

from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_everyone_signed_in_can_list_users_with_the_contract_fields(as_user, alice, bob, queue_a):
    response = as_user(alice).get("/api/v1/users/")
    assert response.status_code == 200
    body = response.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    row = next(u for u in body["results"] if u["username"] == "alice")
    for field in ("id", "username", "first_name", "last_name", "email", "role", "queues", "presence"):
        assert field in row
    assert row["queues"] == [queue_a.pk]
    assert "password" not in row


def test_an_admin_creates_a_user_with_queues_and_a_password(as_user, ada, queue_a, queue_b, anon):
    response = as_user(ada).post(
        "/api/v1/users/",
        {"username": "carol", "password": "s3cret-pass", "role": "agent", "queues": [queue_a.pk, queue_b.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert sorted(response.json()["queues"]) == sorted([queue_a.pk, queue_b.pk])
    assert "password" not in response.json()
    carol = User.objects.get(username="carol")
    assert carol.check_password("s3cret-pass")
    assert anon.post("/api/v1/auth/token/", {"username": "carol", "password": "s3cret-pass"}, format="json").status_code == 200


def test_an_admin_changes_a_users_queues_and_role(as_user, ada, alice, queue_b):
    response = as_user(ada).patch(f"/api/v1/users/{alice.pk}/", {"queues": [queue_b.pk], "role": "supervisor"}, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert list(alice.queues.all()) == [queue_b]
    assert alice.role == "supervisor"


def test_an_admin_sets_a_new_password(as_user, ada, alice):
    as_user(ada).patch(f"/api/v1/users/{alice.pk}/", {"password": "another-pw"}, format="json")
    alice.refresh_from_db()
    assert alice.check_password("another-pw")


def test_a_new_user_needs_a_password(as_user, ada):
    response = as_user(ada).post("/api/v1/users/", {"username": "nopw"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_agents_and_supervisors_cannot_write_users(request, as_user, who, bob):
    client = as_user(request.getfixturevalue(who))
    assert client.post("/api/v1/users/", {"username": "x", "password": "abcdef12"}, format="json").status_code == 403
    response = client.patch(f"/api/v1/users/{bob.pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert client.delete(f"/api/v1/users/{bob.pk}/").status_code == 403


def test_an_admin_deletes_a_user(as_user, ada, bob):
    assert as_user(ada).delete(f"/api/v1/users/{bob.pk}/").status_code == 204
    assert not User.objects.filter(pk=bob.pk).exists()
