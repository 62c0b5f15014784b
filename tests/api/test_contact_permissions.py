"""B6: who may see and change which contact list, over every contact endpoint and event.

The cast: alice edits list A, bob edits list B, vera may only view list A (through a group),
sam supervises, ada administers.
"""
from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import ContactListPermission, Tag
from apps.core import realtime
from apps.users.models import User
from tests.factories import ContactFactory, ContactListFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice, bob, sam, ada, account_a):
    list_a, list_b = ContactListFactory(name="List A"), ContactListFactory(name="List B")
    ContactListPermission.objects.create(contact_list=list_a, user=alice, can_edit=True)
    ContactListPermission.objects.create(contact_list=list_b, user=bob, can_edit=True)
    viewers = Group.objects.create(name="Viewers of A")
    ContactListPermission.objects.create(contact_list=list_a, group=viewers, can_edit=False)
    vera = UserFactory(username="vera", role=User.Role.AGENT, queues=[account_a.queue])
    vera.groups.add(viewers)
    contact_a = ContactFactory(contact_list=list_a, first_name="Anna")
    other_a = ContactFactory(contact_list=list_a, first_name="Aldo")
    contact_b = ContactFactory(contact_list=list_b, first_name="Bruno")
    interaction = InteractionFactory(account=account_a, contact=contact_a, status="closed")
    return {
        "users": {"alice": alice, "bob": bob, "vera": vera, "sam": sam, "ada": ada},
        "A": list_a, "B": list_b, "a": contact_a, "a2": other_a, "b": contact_b, "interaction": interaction,
    }


def _status(as_user, world, who: str, method: str, url: str, body=None, fmt="json"):
    client = as_user(world["users"][who])
    response = getattr(client, method)(url, body, format=fmt) if body is not None else getattr(client, method)(url)
    code = None
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        code = response.json().get("code")
    return response.status_code, code


VIEWS = {  # who sees what of list A and list B
    "alice": {"A"}, "bob": {"B"}, "vera": {"A"}, "sam": {"A", "B"}, "ada": {"A", "B"},
}


@pytest.mark.parametrize("who", list(VIEWS))
def test_lists_and_contacts_are_visible_only_with_view_permission(as_user, world, who):
    client = as_user(world["users"][who])
    lists = {row["name"][-1] for row in client.get("/api/v1/contact-lists/").json()["results"]}
    assert lists == VIEWS[who]
    names = {c["first_name"] for c in client.get("/api/v1/contacts/").json()["results"]}
    expected = set()
    if "A" in VIEWS[who]:
        expected |= {"Anna", "Aldo"}
    if "B" in VIEWS[who]:
        expected.add("Bruno")
    assert names == expected
    for key, list_name in (("a", "A"), ("b", "B")):
        contact = world[key]
        visible = list_name in VIEWS[who]
        assert client.get(f"/api/v1/contacts/{contact.pk}/").status_code == (200 if visible else 404)
        assert client.get(f"/api/v1/contacts/{contact.pk}/journey/").status_code == (200 if visible else 404)
        assert client.get(f"/api/v1/contact-lists/{world[list_name].pk}/").status_code == (200 if visible else 404)
        search = client.get(f"/api/v1/contacts/?search={contact.first_name}").json()["count"]
        assert search == (1 if visible else 0)
    assert client.get(f"/api/v1/contacts/{world['a'].pk}/journey/{world['interaction'].pk}/messages/").status_code == (
        200 if "A" in VIEWS[who] else 404
    )
    exported = b"".join(client.get("/api/v1/contacts/export/").streaming_content).decode()
    assert ("Bruno" in exported) == ("B" in VIEWS[who])
    assert ("Anna" in exported) == ("A" in VIEWS[who])


# (who, expected status, code) for writes on list A's contacts
EDIT_A = [("alice", None, None), ("vera", 403, "no_list_permission"), ("bob", 404, "not_found"), ("sam", None, None), ("ada", None, None)]


@pytest.mark.parametrize(("who", "status", "code"), EDIT_A)
def test_writes_need_edit_permission_on_the_list(as_user, world, who, status, code):
    a, a2, list_a = world["a"], world["a2"], world["A"]
    checks = [
        ("patch", f"/api/v1/contacts/{a.pk}/", {"company": "X"}, 200),
        ("put", f"/api/v1/contacts/{a.pk}/", {"first_name": "Anna", "company": "Y"}, 200),
        ("post", f"/api/v1/contacts/{a.pk}/duplicate/", {"list": list_a.pk}, 201),
        ("post", f"/api/v1/contacts/{a.pk}/merge/", {"other": a2.pk}, 200),
    ]
    for method, url, body, ok in checks:
        got = _status(as_user, world, who, method, url, body)
        assert got == ((ok, None) if status is None else (status, code)), (method, url, got)
    create = _status(as_user, world, who, "post", "/api/v1/contacts/", {"list": list_a.pk, "first_name": "New"})
    assert create == ((201, None) if status is None else (403, "no_list_permission"))
    upload = {"list": list_a.pk, "file": SimpleUploadedFile("c.csv", b"first_name\nZed\n", "text/csv")}
    imported = _status(as_user, world, who, "post", "/api/v1/contacts/import/", upload, fmt="multipart")
    assert imported == ((200, None) if status is None else (403, "no_list_permission"))
    # duplicating B's contact into A: bob sees B but may not edit A
    if who == "bob":
        assert _status(as_user, world, who, "post", f"/api/v1/contacts/{world['b'].pk}/duplicate/", {"list": list_a.pk}) == (
            403,
            "no_list_permission",
        )
    deleted = _status(as_user, world, who, "delete", f"/api/v1/contacts/{a.pk}/")
    assert deleted == ((204, None) if status is None else (status, code))


def test_merging_across_lists_needs_edit_on_both(as_user, world, ada):
    ContactListPermission.objects.create(contact_list=world["B"], user=world["users"]["alice"], can_edit=False)
    got = _status(as_user, world, "alice", "post", f"/api/v1/contacts/{world['a'].pk}/merge/", {"other": world["b"].pk})
    assert got == (403, "no_list_permission")


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("vera", 403), ("bob", 403), ("sam", 403), ("ada", 200)])
def test_only_admins_write_lists_tags_and_permissions(as_user, world, who, status):
    list_a = world["A"]
    assert _status(as_user, world, who, "get", f"/api/v1/contact-lists/{list_a.pk}/permissions/")[0] == status
    put = _status(
        as_user, world, who, "put", f"/api/v1/contact-lists/{list_a.pk}/permissions/",
        [{"user": world["users"]["bob"].pk, "can_edit": True}],
    )
    assert put[0] == status
    created = _status(as_user, world, who, "post", "/api/v1/contact-lists/", {"name": f"New {who}"})
    assert created[0] == (201 if status == 200 else 403)
    tag = _status(as_user, world, who, "post", "/api/v1/tags/", {"name": f"T {who}", "color": "#111111"})
    assert tag[0] == (201 if status == 200 else 403)
    assert _status(as_user, world, who, "get", "/api/v1/tags/")[0] == 200


def test_permissions_endpoint_replaces_user_and_group_rows(as_user, world):
    ada, bob = world["users"]["ada"], world["users"]["bob"]
    group = Group.objects.create(name="Sales")
    url = f"/api/v1/contact-lists/{world['A'].pk}/permissions/"
    response = as_user(ada).put(url, [{"user": bob.pk, "can_edit": True}, {"group": group.pk}], format="json")
    assert response.status_code == 200
    assert sorted(response.json(), key=lambda r: r["user"] or 0) == [
        {"user": None, "group": group.pk, "can_edit": False},
        {"user": bob.pk, "group": None, "can_edit": True},
    ]
    # alice lost list A, bob gained it
    assert as_user(world["users"]["alice"]).get(f"/api/v1/contacts/{world['a'].pk}/").status_code == 404
    assert as_user(bob).get(f"/api/v1/contacts/{world['a'].pk}/").status_code == 200
    bad = as_user(ada).put(url, [{"user": bob.pk, "group": group.pk}], format="json")
    assert bad.status_code == 400
    unknown = as_user(ada).put(url, [{"user": 999999}], format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_user_or_group"


@pytest.mark.parametrize(
    ("who", "contact_key", "expected"),
    [
        ("alice", "a", (200, None)),
        ("alice", "b", (403, "no_list_permission")),
        ("sam", "b", (200, None)),
        ("ada", "a", (200, None)),
    ],
)
def test_linking_an_interaction_needs_view_permission_on_the_contacts_list(as_user, world, account_a, who, contact_key, expected):
    interaction = InteractionFactory(account=account_a, status="open", owner=world["users"]["alice"])
    got = _status(as_user, world, who, "patch", f"/api/v1/interactions/{interaction.pk}/", {"contact": world[contact_key].pk})
    assert got == expected


def test_contact_events_reach_only_who_may_view_the_list(as_user, world, monkeypatch, django_capture_on_commit_callbacks):
    sent: list[tuple[list[str], dict]] = []
    monkeypatch.setattr(realtime, "deliver", lambda items: sent.extend((list(g), e) for g, e in items))
    users = world["users"]
    with django_capture_on_commit_callbacks(execute=True):
        as_user(users["alice"]).patch(f"/api/v1/contacts/{world['a'].pk}/", {"company": "Z"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        as_user(users["bob"]).post("/api/v1/contacts/", {"list": world["B"].pk, "first_name": "Bea"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        as_user(users["alice"]).post(f"/api/v1/contacts/{world['a'].pk}/merge/", {"other": world["a2"].pk}, format="json")
    by_type: dict[str, list[set[str]]] = {}
    for groups, event in sent:
        json.dumps(event)
        by_type.setdefault(event["type"], []).append(set(groups))
    a_viewers = {f"agent.{users['alice'].pk}", f"agent.{users['vera'].pk}", "supervisors"}
    b_viewers = {f"agent.{users['bob'].pk}", "supervisors"}
    assert by_type["contact.updated"] == [a_viewers, a_viewers]
    assert by_type["contact.created"] == [b_viewers]
    assert by_type["contact.deleted"] == [a_viewers]
