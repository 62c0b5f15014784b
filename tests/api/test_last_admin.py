"""The installation always keeps an active administrator (issue 7): the last one cannot be deleted,
deactivated or demoted, and an administrator cannot do it to their own account, over the API or
in the Django Admin."""
from __future__ import annotations

import pytest
from django.urls import reverse

from apps.core.exceptions import Conflict
from apps.users.models import User
from apps.users.services import user_delete
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carl(db):
    return UserFactory(username="carl", role=User.Role.ADMIN)


def assert_conflict(response, code: str) -> None:
    assert response.status_code == 409, response.content
    assert response.json()["code"] == code


# ----- API --------------------------------------------------------------------------------------------
def test_the_last_admin_cannot_delete_themselves(as_user, ada):
    assert_conflict(as_user(ada).delete(f"/api/v1/users/{ada.pk}/"), "last_admin")
    assert User.objects.filter(pk=ada.pk).exists()


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "supervisor"}, {"role": "agent"}])
def test_the_last_admin_cannot_deactivate_or_demote_themselves(as_user, ada, change):
    assert_conflict(as_user(ada).patch(f"/api/v1/users/{ada.pk}/", change, format="json"), "last_admin")
    ada.refresh_from_db()
    assert ada.is_active and ada.role == User.Role.ADMIN


def test_the_last_admin_still_edits_their_other_fields(as_user, ada):
    response = as_user(ada).patch(
        f"/api/v1/users/{ada.pk}/", {"first_name": "Augusta", "role": "admin", "is_active": True}, format="json"
    )
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.first_name == "Augusta"


@pytest.mark.parametrize("change", [{"is_active": False}, {"role": "agent"}])
def test_an_admin_cannot_remove_their_own_rights_even_with_another_admin(as_user, ada, carl, change):
    assert_conflict(as_user(ada).patch(f"/api/v1/users/{ada.pk}/", change, format="json"), "own_admin_rights")
    assert_conflict(as_user(ada).delete(f"/api/v1/users/{ada.pk}/"), "own_admin_rights")


def test_an_admin_removes_another_admin(as_user, ada, carl):
    assert as_user(ada).patch(f"/api/v1/users/{carl.pk}/", {"is_active": False}, format="json").status_code == 200
    assert as_user(ada).delete(f"/api/v1/users/{carl.pk}/").status_code == 204


def test_a_superuser_counts_as_an_admin(as_user, ada):
    root = UserFactory(username="root", role=User.Role.AGENT, is_superuser=True)
    assert as_user(root).delete(f"/api/v1/users/{ada.pk}/").status_code == 204
    assert_conflict(as_user(root).patch(f"/api/v1/users/{root.pk}/", {"is_active": False}, format="json"), "last_admin")


def test_deleting_every_admin_at_once_is_refused(ada, carl):
    with pytest.raises(Conflict) as refused:
        user_delete(users=[ada, carl], actor=None)
    assert refused.value.code == "last_admin"
    assert User.objects.filter(pk__in=[ada.pk, carl.pk]).count() == 2


# ----- Django Admin ---------------------------------------------------------------------------------------
# The Django Admin needs model permissions, which a superuser has: root is the one administrator here.
@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", "pw", role=User.Role.ADMIN)


@pytest.fixture
def root_in_admin(client, root):
    client.force_login(root)
    return client


def change_form(user: User, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "presence": user.presence,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **{f"{prefix}-{key}": value for prefix in ("Queue_agents", "contact_list_permissions")
           for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.mark.parametrize("change", [{"is_active": ""}, {"is_superuser": "", "role": "agent"}])
def test_the_admin_form_refuses_to_deactivate_or_demote_the_last_admin(root_in_admin, root, change):
    response = root_in_admin.post(reverse("admin:users_user_change", args=[root.pk]), change_form(root, **change))
    assert response.status_code == 200  # the form again, with the error
    assert "last active administrator" in response.content.decode()
    root.refresh_from_db()
    assert root.is_active and root.is_superuser


def test_the_admin_form_still_saves_other_changes(root_in_admin, root):
    response = root_in_admin.post(reverse("admin:users_user_change", args=[root.pk]), change_form(root, first_name="Rita"))
    assert response.status_code == 302
    root.refresh_from_db()
    assert root.first_name == "Rita"


def test_the_admin_form_lets_an_admin_deactivate_another(root_in_admin, carl):
    response = root_in_admin.post(reverse("admin:users_user_change", args=[carl.pk]), change_form(carl, is_active=""))
    assert response.status_code == 302
    carl.refresh_from_db()
    assert not carl.is_active


def test_the_admin_hides_deleting_oneself(root_in_admin, root, carl):
    assert root_in_admin.get(reverse("admin:users_user_delete", args=[root.pk])).status_code == 403
    assert root_in_admin.get(reverse("admin:users_user_delete", args=[carl.pk])).status_code == 200


def test_the_admins_bulk_delete_keeps_an_admin(root_in_admin, root, carl):
    response = root_in_admin.post(
        reverse("admin:users_user_changelist"),
        {"action": "delete_selected_users", "_selected_action": [root.pk, carl.pk], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert "last active administrator" in response.content.decode()
    assert User.objects.filter(pk__in=[root.pk, carl.pk]).count() == 2


def test_the_admins_bulk_delete_deletes_others(root_in_admin, carl, alice):
    response = root_in_admin.post(
        reverse("admin:users_user_changelist"),
        {"action": "delete_selected_users", "_selected_action": [carl.pk, alice.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[carl.pk, alice.pk]).exists()
