from __future__ import annotations

import pytest

from apps.core.models import InstallationSettings

pytestmark = pytest.mark.django_db


def test_everyone_reads_the_settings_with_their_defaults(as_user, alice):
    response = as_user(alice).get("/api/v1/settings/")
    assert response.status_code == 200
    body = response.json()
    assert body["license_plan"] == "inbound_outbound"
    assert body["transfers"] == "both"
    assert body["transfer_timeout"] == 300
    assert body["attachments_enabled"] is True
    assert body["attachment_max_bytes"] == 15728640
    assert body["masking"] == "none"


def test_an_admin_patches_the_settings(as_user, ada):
    response = as_user(ada).patch("/api/v1/settings/", {"masking": "partial", "transfer_timeout": 120}, format="json")
    assert response.status_code == 200
    assert response.json()["masking"] == "partial"
    settings = InstallationSettings.load()
    assert (settings.masking, settings.transfer_timeout, settings.transfers) == ("partial", 120, "both")
    assert InstallationSettings.objects.count() == 1


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_only_admins_write_the_settings(request, as_user, who):
    response = as_user(request.getfixturevalue(who)).patch("/api/v1/settings/", {"masking": "full"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert InstallationSettings.load().masking == "none"


def test_bad_values_are_field_errors(as_user, ada):
    response = as_user(ada).patch("/api/v1/settings/", {"transfers": "everyone", "transfer_timeout": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"transfers", "transfer_timeout"}
