from __future__ import annotations

import pytest

from apps.queues.models import CannedAnswer, Disposition, Queue

pytestmark = pytest.mark.django_db


def test_queues_list_their_agents_dispositions_and_canned_answers(as_user, alice, queue_a):
    Disposition.objects.create(queue=queue_a, name="Solved")
    CannedAnswer.objects.create(queue=queue_a, title="Hello", text="Hi, how can I help?")
    response = as_user(alice).get("/api/v1/queues/")
    assert response.status_code == 200
    row = next(q for q in response.json()["results"] if q["id"] == queue_a.pk)
    assert row["name"] == "Queue A"
    assert row["agents"] == [alice.pk]
    assert row["offer_timeout"] == 60
    assert [d["name"] for d in row["dispositions"]] == ["Solved"]
    assert row["canned_answers"][0]["title"] == "Hello"


def test_an_admin_creates_a_queue_with_agents(as_user, ada, alice, bob):
    response = as_user(ada).post("/api/v1/queues/", {"name": "Sales", "agents": [alice.pk, bob.pk]}, format="json")
    assert response.status_code == 201, response.json()
    assert sorted(Queue.objects.get(name="Sales").agents.values_list("pk", flat=True)) == sorted([alice.pk, bob.pk])


def test_agents_cannot_write_queues(as_user, alice, queue_a):
    assert as_user(alice).post("/api/v1/queues/", {"name": "X"}, format="json").status_code == 403
    assert as_user(alice).patch(f"/api/v1/queues/{queue_a.pk}/", {"name": "Y"}, format="json").status_code == 403


def test_canned_answers_can_be_searched(as_user, alice, queue_a):
    CannedAnswer.objects.create(queue=queue_a, title="Greeting", text="Good morning!")
    CannedAnswer.objects.create(queue=queue_a, title="Refund", text="Your refund is on its way.")
    response = as_user(alice).get(f"/api/v1/queues/{queue_a.pk}/canned_answers/", {"search": "refund"})
    assert response.status_code == 200
    assert [a["title"] for a in response.json()["results"]] == ["Refund"]


def test_a_queue_used_by_an_account_cannot_be_deleted(as_user, ada, account_a, queue_a):
    response = as_user(ada).delete(f"/api/v1/queues/{queue_a.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "queue_in_use"
