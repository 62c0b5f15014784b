"""The desktop page is served the rules the server enforces, and its modules keep no copy of them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from apps.core.models import InstallationSettings
from apps.interactions.models import STATUS_RANK, TEXT_MAX_LENGTH, Interaction
from apps.providers.registry import backend_class
from tests.desk.conftest import api
from tests.factories import InteractionFactory, MessageFactory

DESKTOP_JS = Path(settings.BASE_DIR) / "static" / "desktop"
# The REST API's own refusal code (CONTRACT.md), which the page rightly reads from an error body;
# the Sandbox happens to use the same word as its provider code.
API_CODES = {"window_closed"}


def modules() -> dict[str, str]:
    found = {str(path.relative_to(DESKTOP_JS)): path.read_text() for path in DESKTOP_JS.rglob("*.js")}
    assert "main.js" in found and "store.js" in found and "events.js" in found
    return found


def bootstrap_of(client) -> dict:
    response = client.get("/desktop/")
    assert response.status_code == 200
    match = re.search(r'<script id="desktop-bootstrap" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the page carries no bootstrap JSON"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_page_is_given_the_status_order_the_text_limit_and_the_attachment_limit(client, agent1):
    InstallationSettings.objects.update_or_create(pk=1, defaults={"attachment_max_bytes": 3 * 1024 * 1024})
    client.force_login(agent1)
    boot = bootstrap_of(client)
    assert boot["rules"] == {"message_status_rank": STATUS_RANK, "text_max_length": TEXT_MAX_LENGTH}
    assert boot["settings"]["attachment_max_bytes"] == 3 * 1024 * 1024


def test_the_page_loads_its_code_as_es_modules_whose_imports_all_exist():
    template = (Path(settings.BASE_DIR) / "templates" / "desktop" / "desktop.html").read_text()
    assert re.search(r"<script type=\"module\" src=\"{% static 'desktop/main.js' %}\"></script>", template)
    assert "desktop.js" not in template
    for name, source in modules().items():
        assert source.startswith("// @ts-check"), f"{name} is not type-checked"
        for target in re.findall(r'^import .*? from "(\.{1,2}/[^"]+)";$', source, re.M):
            assert (DESKTOP_JS / name).parent.joinpath(target).resolve().is_file(), f"{name} imports a missing {target}"


def test_no_desktop_module_keeps_a_copy_of_the_window_codes_the_status_ranks_or_the_text_limit():
    window_codes = set()
    for provider in settings.INSTANT_PROVIDER_BACKENDS:
        window_codes |= set(backend_class(provider).window_error_codes)
    window_codes -= API_CODES
    assert "131047" in window_codes  # the check below looks for real codes
    status_literal = re.compile(r"\b(?:%s)\"?\s*:\s*\d" % "|".join(STATUS_RANK))
    limit = re.compile(r"\b4,?096\b")
    for name, source in modules().items():
        assert not [code for code in window_codes if code in source], f"{name} copies provider window codes"
        assert not status_literal.search(source), f"{name} ranks message statuses itself"
        assert not limit.search(source), f"{name} hard-codes WhatsApp's text limit"


@pytest.mark.django_db
def test_a_message_says_whether_its_failure_closed_the_window(agent1, account):
    interaction = InteractionFactory(account=account, status=Interaction.Status.OPEN, owner=agent1)
    window = MessageFactory(
        interaction=interaction, direction="out", status="failed", error_code="131047", window_closed_error=True
    )
    other = MessageFactory(interaction=interaction, direction="out", status="failed", error_code="131026")
    listed = api(agent1).get(f"/api/v1/interactions/{interaction.pk}/messages/").json()["results"]
    closes = {m["id"]: m["closes_window"] for m in listed}
    assert closes == {window.pk: True, other.pk: False}
    # The existing fields stay as they were.
    assert {m["error_code"] for m in listed} == {"131047", "131026"}
