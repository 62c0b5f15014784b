"""Contacts over REST (D9): fields, filters, custom fields, merge, duplicate, journey, tags, CSV."""
from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import Contact, ContactAudit, ContactListPermission, CustomField, Tag
from apps.interactions.models import Interaction
from tests.factories import ContactFactory, ContactListFactory, InteractionFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def list_a(alice):
    contact_list = ContactListFactory(name="List A")
    ContactListPermission.objects.create(contact_list=contact_list, user=alice, can_edit=True)
    CustomField.objects.create(contact_list=contact_list, key="tier", label="Tier", kind="choice", choices=["gold", "silver"])
    CustomField.objects.create(contact_list=contact_list, key="since", label="Since", kind="date")
    CustomField.objects.create(contact_list=contact_list, key="orders", label="Orders", kind="number")
    return contact_list


@pytest.fixture
def list_b(bob):
    contact_list = ContactListFactory(name="List B")
    ContactListPermission.objects.create(contact_list=contact_list, user=bob, can_edit=True)
    return contact_list


@pytest.fixture
def vip():
    return Tag.objects.create(name="VIP", color="#ff0000")


@pytest.fixture
def late():
    return Tag.objects.create(name="Late payer", color="#00ff00")


def test_an_agent_adds_a_contact_with_normalised_phone_custom_fields_and_tags(as_user, alice, list_a, vip):
    response = as_user(alice).post(
        "/api/v1/contacts/",
        {
            "list": list_a.pk,
            "first_name": "Carla",
            "last_name": "Rossi",
            "phone": "+1 (555) 123-4567",
            "email": "carla@example.com",
            "company": "ACME",
            "custom_fields": {"tier": "gold", "since": "2024-02-01", "orders": "12"},
            "tags": [vip.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+15551234567"
    assert body["list"] == list_a.pk
    assert body["custom_fields"] == {"tier": "gold", "since": "2024-02-01", "orders": 12}
    assert body["tags"] == [vip.pk]
    assert {"id", "created_at", "updated_at", "email", "company"} <= set(body)
    # "My contacts": the creator
    assert as_user(alice).get("/api/v1/contacts/?mine=true").json()["count"] == 1


@pytest.mark.parametrize(
    ("custom", "bad_key"),
    [({"tier": "bronze"}, "tier"), ({"since": "yesterday"}, "since"), ({"orders": "many"}, "orders"), ({"nope": "x"}, "nope")],
)
def test_custom_fields_are_validated_by_kind(as_user, alice, list_a, custom, bad_key):
    response = as_user(alice).post("/api/v1/contacts/", {"list": list_a.pk, "first_name": "X", "custom_fields": custom}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_custom_fields"
    assert bad_key in response.json()["detail"]


def test_a_bad_phone_or_email_is_refused(as_user, alice, list_a):
    client = as_user(alice)
    assert client.post("/api/v1/contacts/", {"list": list_a.pk, "phone": "12"}, format="json").json()["code"] == "invalid_phone"
    assert client.post("/api/v1/contacts/", {"list": list_a.pk, "email": "no-at"}, format="json").json()["code"] == "invalid_email"


def test_filters_list_tags_all_must_match_search_phone_and_custom(as_user, sam, list_a, list_b, vip, late):
    both = ContactFactory(contact_list=list_a, first_name="Carla", last_name="Rossi", phone="+15551230001", email="c@x.com")
    both.tags.set([vip, late])
    only_vip = ContactFactory(contact_list=list_a, first_name="Dario", last_name="Neri", company="Rossi Srl", phone="+15551230002")
    only_vip.tags.set([vip])
    gold = ContactFactory(contact_list=list_a, first_name="Elena", custom_fields={"tier": "gold"}, phone="+15551230003")
    other = ContactFactory(contact_list=list_b, first_name="Carla", last_name="Bianchi", phone="+15551230004")
    client = as_user(sam)

    def ids(query: str) -> set[int]:
        return {c["id"] for c in client.get(f"/api/v1/contacts/?{query}").json()["results"]}

    assert ids(f"list={list_a.pk}") == {both.pk, only_vip.pk, gold.pk}
    assert ids(f"tags={vip.pk}") == {both.pk, only_vip.pk}
    assert ids(f"tags={vip.pk}&tags={late.pk}") == {both.pk}
    assert ids("search=rossi") == {both.pk, only_vip.pk}
    assert ids("search=Carla Rossi") == {both.pk}
    assert ids("search=c@x.com") == {both.pk}
    assert ids("search=1230004") == {other.pk}
    assert ids("search=%2B1 (555) 123-0004") == {other.pk}  # typed as a number: its digits
    assert ids("search=Carla4") == set()  # a word with a digit is not a number: no phone matches "4"
    assert ids("phone=%2B15551230002") == {only_vip.pk}
    assert ids("phone=15551230002") == {only_vip.pk}
    assert ids("custom.tier=gold") == {gold.pk}
    assert ids("company=srl") == {only_vip.pk}


def test_editing_puts_the_contact_in_the_editors_my_contacts(as_user, alice, list_a):
    contact = ContactFactory(contact_list=list_a)
    client = as_user(alice)
    assert client.get("/api/v1/contacts/?mine=true").json()["count"] == 0
    response = client.patch(f"/api/v1/contacts/{contact.pk}/", {"company": "New Co"}, format="json")
    assert response.status_code == 200 and response.json()["company"] == "New Co"
    assert [c["id"] for c in client.get("/api/v1/contacts/?mine=true").json()["results"]] == [contact.pk]


def test_merge_moves_every_related_row_into_the_survivor_and_is_audited(as_user, alice, account_a, list_a, vip, late):
    survivor = ContactFactory(contact_list=list_a, first_name="Carla", last_name="", email="", custom_fields={"tier": "gold"}, notes="first")
    survivor.tags.set([vip])
    other = ContactFactory(contact_list=list_a, first_name="Carlotta", last_name="Rossi", email="c@example.com",
                           custom_fields={"tier": "silver", "orders": 3}, notes="second", whatsapp_user_id="US.1")
    other.tags.set([late])
    other.editors.add(alice)
    mine = InteractionFactory(account=account_a, contact=survivor)
    theirs = [InteractionFactory(account=account_a, contact=other, status="closed") for _ in range(2)]
    MessageFactory(interaction=theirs[0])
    ContactAudit.objects.create(contact=other, kind="updated")

    # every relation of any app to a contact (interactions, audits, campaign recipients, tags...)
    relations = [
        (r.related_model, r.field.name)
        for r in Contact._meta.get_fields(include_hidden=True)
        if r.auto_created and r.one_to_many and not r.concrete
    ]
    before = {(m, f): m._base_manager.filter(**{f"{f}__in": [survivor.pk, other.pk]}).count() for m, f in relations}
    assert before[(Interaction, "contact")] == 3

    response = as_user(alice).post(f"/api/v1/contacts/{survivor.pk}/merge/", {"other": other.pk}, format="json")

    assert response.status_code == 200, response.content
    after = {(m, f): m._base_manager.filter(**{f: survivor.pk}).count() for m, f in relations}
    # each row survives, moved to the survivor (+1 audit line: the merge itself)
    for key, count in before.items():
        assert after[key] >= count, key
    body = response.json()
    assert body["id"] == survivor.pk
    assert not Contact.objects.filter(pk=other.pk).exists()
    survivor.refresh_from_db()
    assert set(Interaction.objects.filter(contact=survivor).values_list("pk", flat=True)) == {mine.pk, *(i.pk for i in theirs)}
    assert theirs[0].messages.count() == 1
    assert set(survivor.tags.values_list("pk", flat=True)) == {vip.pk, late.pk}
    assert survivor.first_name == "Carla"  # the survivor keeps its own values
    assert (survivor.last_name, survivor.email, survivor.whatsapp_user_id) == ("Rossi", "c@example.com", "US.1")
    assert survivor.custom_fields == {"tier": "gold", "orders": 3}
    assert "first" in survivor.notes and "second" in survivor.notes
    assert alice in survivor.editors.all()
    audits = list(ContactAudit.objects.filter(contact=survivor).values_list("kind", flat=True))
    assert "merged" in audits and "updated" in audits
    merged = ContactAudit.objects.get(contact=survivor, kind="merged")
    assert merged.actor == alice and merged.data["other"] == other.pk
    journey = as_user(alice).get(f"/api/v1/contacts/{survivor.pk}/journey/").json()["results"]
    assert {row["id"] for row in journey} == {mine.pk, *(i.pk for i in theirs)}


def test_merge_with_itself_is_refused(as_user, alice, list_a):
    contact = ContactFactory(contact_list=list_a)
    response = as_user(alice).post(f"/api/v1/contacts/{contact.pk}/merge/", {"other": contact.pk}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "same_contact"


def test_duplicate_copies_into_another_list_keeping_only_its_custom_fields(as_user, sam, list_a, list_b, vip):
    contact = ContactFactory(contact_list=list_a, custom_fields={"tier": "gold"})
    contact.tags.set([vip])
    CustomField.objects.create(contact_list=list_b, key="tier", label="Tier")
    response = as_user(sam).post(f"/api/v1/contacts/{contact.pk}/duplicate/", {"list": list_b.pk}, format="json")
    assert response.status_code == 201
    copy = response.json()
    assert copy["id"] != contact.pk and copy["list"] == list_b.pk
    assert (copy["phone"], copy["tags"], copy["custom_fields"]) == (contact.phone, [vip.pk], {"tier": "gold"})
    assert Contact.objects.filter(pk=contact.pk, contact_list=list_a).exists()


def test_journey_is_newest_first_and_opens_read_only(as_user, alice, account_a, account_b, list_a):
    from datetime import timedelta

    from django.utils import timezone

    contact = ContactFactory(contact_list=list_a)
    old = InteractionFactory(account=account_a, contact=contact, status="closed", started_at=timezone.now() - timedelta(days=3))
    new = InteractionFactory(account=account_b, contact=contact, started_at=timezone.now())
    MessageFactory(interaction=old, text="old words")
    client = as_user(alice)
    journey = client.get(f"/api/v1/contacts/{contact.pk}/journey/").json()["results"]
    assert [row["id"] for row in journey] == [new.pk, old.pk]
    assert {"account", "owner", "started_at", "closed_at", "tags", "disposition"} <= set(journey[0])
    messages = client.get(f"/api/v1/contacts/{contact.pk}/journey/{old.pk}/messages/").json()["results"]
    assert [m["text"] for m in messages] == ["old words"]
    other = InteractionFactory(account=account_a)
    assert client.get(f"/api/v1/contacts/{contact.pk}/journey/{other.pk}/messages/").status_code == 404


def test_tags_admin_writes_and_interaction_tags_by_owner_or_supervisor(as_user, alice, bob, sam, ada, account_a, list_a, list_b, vip):
    assert as_user(alice).post("/api/v1/tags/", {"name": "X", "color": "#000000"}, format="json").status_code == 403
    created = as_user(ada).post("/api/v1/tags/", {"name": "Hot", "color": "#123456"}, format="json")
    assert created.status_code == 201 and set(created.json()) == {"id", "name", "color"}
    assert as_user(ada).post("/api/v1/tags/", {"name": "Bad", "color": "red"}, format="json").status_code == 400
    interaction = InteractionFactory(account=account_a, status="open", owner=alice)
    url = f"/api/v1/interactions/{interaction.pk}/"
    response = as_user(alice).patch(url, {"tags": [vip.pk, created.json()["id"]]}, format="json")
    assert response.status_code == 200 and set(response.json()["tags"]) == {vip.pk, created.json()["id"]}
    contact_a, contact_b = ContactFactory(contact_list=list_a), ContactFactory(contact_list=list_b)
    assert as_user(alice).patch(url, {"contact": contact_a.pk}, format="json").json()["contact"] == contact_a.pk
    refused = as_user(alice).patch(url, {"contact": contact_b.pk}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "no_list_permission"
    assert as_user(sam).patch(url, {"tags": []}, format="json").json()["tags"] == []
    # another agent of the queue is not the owner
    from tests.factories import UserFactory

    colleague = UserFactory(username="carl", queues=[account_a.queue])
    assert as_user(colleague).patch(url, {"tags": [vip.pk]}, format="json").json()["code"] == "not_owner"


def test_csv_import_with_mapping_reports_rejected_rows(as_user, alice, list_a, vip):
    content = (
        "Name,Surname,Mobile,Mail,Tier,Labels\n"
        "Carla,Rossi,+15551234567,carla@example.com,gold,VIP\n"
        "Bad,Phone,12,,,\n"
        "Dario,Neri,+15551234568,not-an-email,,\n"
        "Elena,Verdi,+15551234569,,bronze,\n"
        "Fabio,Blu,+15551234570,,,Nope\n"
        ",,,,,\n"
        "Gina,Gialli,+15551234571,,silver,\n"
    )
    mapping = {"Name": "first_name", "Surname": "last_name", "Mobile": "phone", "Mail": "email", "Tier": "custom.tier", "Labels": "tags"}
    import json

    response = as_user(alice).post(
        "/api/v1/contacts/import/",
        {"list": list_a.pk, "file": SimpleUploadedFile("c.csv", content.encode(), "text/csv"), "mapping": json.dumps(mapping)},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["created"] == 2
    assert [r["row"] for r in report["rejected"]] == [3, 4, 5, 6, 7]
    assert all(r["errors"] for r in report["rejected"])
    carla = Contact.objects.get(first_name="Carla")
    assert (carla.phone, carla.custom_fields, list(carla.tags.all())) == ("+15551234567", {"tier": "gold"}, [vip])


def test_csv_import_needs_edit_permission(as_user, bob, list_a):
    response = as_user(bob).post(
        "/api/v1/contacts/import/",
        {"list": list_a.pk, "file": SimpleUploadedFile("c.csv", b"first_name\nX\n", "text/csv")},
        format="multipart",
    )
    assert response.status_code == 403 and response.json()["code"] == "no_list_permission"


def test_csv_export_of_a_filtered_view(as_user, sam, list_a, vip):
    tagged = ContactFactory(contact_list=list_a, first_name="Carla", custom_fields={"tier": "gold"})
    tagged.tags.set([vip])
    ContactFactory(contact_list=list_a, first_name="Untagged")
    response = as_user(sam).get(f"/api/v1/contacts/export/?list={list_a.pk}&tags={vip.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["first_name"], r["phone"], r["tags"], r["custom.tier"]) for r in rows] == [("Carla", tagged.phone, "VIP", "gold")]


def test_contact_lists_show_custom_fields_and_can_edit(as_user, alice, ada, list_a):
    rows = as_user(alice).get("/api/v1/contact-lists/").json()
    rows = rows["results"]
    assert [(r["id"], r["can_edit"]) for r in rows] == [(list_a.pk, True)]
    assert {"key": "tier", "label": "Tier"}.items() <= rows[0]["custom_fields"][-1].items() or any(
        f["key"] == "tier" for f in rows[0]["custom_fields"]
    )
    created = as_user(ada).post(
        "/api/v1/contact-lists/", {"name": "New", "custom_fields": [{"key": "vat", "label": "VAT"}]}, format="json"
    )
    assert created.status_code == 201 and created.json()["custom_fields"][0]["key"] == "vat"


def test_odd_filter_values_answer_400_or_nothing_never_500(as_user, sam, list_a):
    client = as_user(sam)
    assert client.get("/api/v1/contacts/?list=99999999999999999999999").status_code == 400
    assert client.get("/api/v1/contacts/?tags=99999999999999999999999").status_code == 400
    assert client.get("/api/v1/contacts/?custom.tier=gold&search=%E2%80%A2%E2%80%A2%E2%80%A2").status_code == 200
    bad = as_user(sam).post(
        "/api/v1/contacts/import/",
        {"list": list_a.pk, "file": SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_csv"


def test_the_admin_merges_contacts_with_a_chosen_survivor_and_edits_group_permissions(client, account_a, list_a):
    from django.contrib.auth.models import Group

    from apps.users.models import User

    ada = User.objects.create_superuser("root", "root@example.com", "pw")

    keep, other = ContactFactory(contact_list=list_a, email=""), ContactFactory(contact_list=list_a, email="o@example.com")
    moved = InteractionFactory(account=account_a, contact=other, status="closed")
    client.force_login(ada)
    url = "/admin/contacts/contact/"
    chooser = client.post(url, {"action": "merge_selected", "_selected_action": [keep.pk, other.pk]})
    assert chooser.status_code == 200 and b"Merge" in chooser.content
    done = client.post(url, {"action": "merge_selected", "_selected_action": [keep.pk, other.pk], "apply": "1", "survivor": keep.pk})
    assert done.status_code == 302
    assert not Contact.objects.filter(pk=other.pk).exists()
    keep.refresh_from_db()
    moved.refresh_from_db()
    assert moved.contact == keep and keep.email == "o@example.com"
    assert ContactAudit.objects.filter(contact=keep, kind="merged").exists()
    # B6 in the admin: a group gets view permission on the list
    group = Group.objects.create(name="Support team")
    page = client.get(f"/admin/contacts/contactlist/{list_a.pk}/change/")
    assert page.status_code == 200 and b"permissions-0-group" in page.content
