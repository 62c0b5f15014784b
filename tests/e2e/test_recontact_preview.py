"""D7 in the browser: the recontact template is previewed, filled from the contact by the admin's
mapping, before the agent confirms sending it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_desktop import WAIT, open_desktop, open_simulator, start_conversation

pytestmark = pytest.mark.e2e

DEMO = "WhatsAppAccount.objects.get(name='Demo WhatsApp')"
SETUP = (
    "from apps.accounts.models import WhatsAppAccount; from apps.templates.models import Template; "
    "from apps.interactions.models import Interaction; "
    "from datetime import timedelta; from django.utils import timezone; "
)


@pytest.fixture(autouse=True)
def no_page_errors(request):
    yield
    errors = [e for page in getattr(request.node, "_page_errors", []) for e in page]
    assert not errors, "\n".join(errors)


@pytest.fixture
def named_recontact(live_app):
    """The demo account's recontact template becomes one with parameters mapped to contact fields;
    the demo's own comes back afterwards (the server's database lives for the whole session)."""
    live_app.manage("shell", "-c", SETUP + (
        f"a = {DEMO}; "
        "t, _ = Template.objects.update_or_create(account=a, name='recontact_named', language='en', defaults=dict("
        "body='Hi {{1}}, about your order {{2}}: reply to continue.', status='approved', "
        "contact_params=[{'field': 'first_name'}, {'field': 'company'}])); "
        "WhatsAppAccount.objects.filter(pk=a.pk).update(recontact_template=t)"
    ))
    yield
    live_app.manage("shell", "-c", SETUP + (
        f"a = {DEMO}; "
        "WhatsAppAccount.objects.filter(pk=a.pk).update(recontact_template=Template.objects.get(account=a, name='recontact'))"
    ))


def set_contact_and_close_window(live_app, interaction_id: int, *, company: str) -> None:
    live_app.manage("shell", "-c", SETUP + (
        f"i = Interaction.objects.get(pk={interaction_id}); c = i.contact; "
        "assert c is not None, 'the demo account files unknown customers as contacts'; "
        f"c.first_name = 'Nina'; c.company = {company!r}; c.save(); "
        f"Interaction.objects.filter(pk={interaction_id}).update("
        "window_expires_at=timezone.now() - timedelta(minutes=1), window_expiry_announced=False)"
    ))


def test_the_recontact_preview_shows_the_filled_template_and_confirming_sends_it(new_page, live_app, named_recontact):
    agent = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, _, interaction_id = start_conversation(agent, sim, "I'll be back about my order")

    # The contact lacks the company the mapping asks for: the preview says so and nothing can be sent.
    set_contact_and_close_window(live_app, interaction_id, company="")
    expect(agent.locator("#composer-text")).to_be_disabled(timeout=WAIT)
    agent.click("#recontact-button")
    expect(agent.locator("#recontact-dialog")).to_be_visible()
    expect(agent.locator("#recontact-preview-body")).to_have_text(
        "Hi Nina, about your order {{2}}: reply to continue.", timeout=WAIT
    )
    expect(agent.locator("#recontact-error")).to_contain_text("lacks a field")
    expect(agent.locator("#recontact-send")).to_be_disabled()
    agent.click("#recontact-cancel")
    expect(agent.locator("#recontact-dialog")).to_be_hidden()
    expect(agent.locator('#timeline .msg[data-kind="template"]')).to_have_count(0)

    # Filled in, the preview shows exactly what the customer will read; confirming sends it.
    set_contact_and_close_window(live_app, interaction_id, company="ACME-42")
    agent.click("#recontact-button")
    expected = "Hi Nina, about your order ACME-42: reply to continue."
    expect(agent.locator("#recontact-preview-body")).to_have_text(expected, timeout=WAIT)
    expect(agent.locator("#recontact-send")).to_be_enabled()
    expect(agent.locator('#timeline .msg[data-kind="template"]')).to_have_count(0)  # nothing before the confirmation
    agent.click("#recontact-send")

    expect(agent.locator("#recontact-dialog")).to_be_hidden(timeout=WAIT)
    expect(agent.locator('#timeline .msg[data-direction="out"][data-kind="template"]')).to_contain_text(
        expected, timeout=WAIT
    )
    sim.fill("#sim-phone", phone)
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="about your order ACME-42")).to_be_visible(
        timeout=WAIT
    )
