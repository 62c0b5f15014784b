"""D8 in the browser: the desktop's "+" starts a conversation, once with the customer's window
closed (a template with a live preview) and once with it open (normal text)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_desktop import WAIT, a_customer, accept_offer, customer_says, open_desktop, open_simulator

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def no_page_errors(request):
    yield
    # The deliberate look-up of an impossible number is refused with a 400, which Chromium logs.
    errors = [e for page in getattr(request.node, "_page_errors", []) for e in page if "status of 400" not in e]
    assert not errors, "\n".join(errors)


def open_dialog(page) -> None:
    page.click("#new-conversation-button")
    expect(page.locator("#new-conversation-dialog")).to_be_visible()
    option = page.locator("#nc-account option", has_text="Demo WhatsApp").first
    page.select_option("#nc-account", value=option.get_attribute("value"))


def look_up(page, phone: str) -> None:
    open_dialog(page)
    page.fill("#nc-phone", phone)
    page.click("#nc-lookup")
    expect(page.locator("#nc-who")).to_contain_text(phone, timeout=WAIT)


def test_closed_window_a_template_with_a_live_preview_opens_a_conversation(new_page):
    agent = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, _ = a_customer()

    open_dialog(agent)
    agent.fill("#nc-phone", "12")  # not a possible number: the server says why
    agent.click("#nc-lookup")
    expect(agent.locator("#nc-error")).to_contain_text("not possible", timeout=WAIT)

    agent.fill("#nc-phone", phone)
    agent.click("#nc-lookup")
    expect(agent.locator("#nc-template")).to_be_visible(timeout=WAIT)
    agent.select_option("#nc-template", label="order_update (en)")
    params = agent.locator(".nc-param")
    expect(params).to_have_count(2)
    params.nth(0).fill("Nina")
    expect(agent.locator("#nc-preview-body")).to_have_text("Hello Nina, your order {{2}} has been shipped.", timeout=WAIT)
    params.nth(1).fill("#42")
    expect(agent.locator("#nc-preview-body")).to_have_text("Hello Nina, your order #42 has been shipped.", timeout=WAIT)
    agent.click("#nc-send")

    expect(agent.locator("#new-conversation-dialog")).to_be_hidden(timeout=WAIT)
    expect(agent.locator('#timeline .msg[data-direction="out"][data-kind="template"]')).to_contain_text(
        "your order #42 has been shipped", timeout=WAIT
    )
    expect(agent.locator("#tabs .tab.active")).to_have_count(1)
    # The customer's phone received it.
    sim.fill("#sim-phone", phone)
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="your order #42")).to_be_visible(timeout=WAIT)


def test_open_window_normal_text_starts_a_conversation(new_page, api):
    agent = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, name = a_customer()
    customer_says(sim, phone, name, "Can you call me back later?")
    interaction_id = accept_offer(agent, name)
    closed = api("agent1", "agent1").post(f"/interactions/{interaction_id}/close/", json={})
    assert closed.status_code == 200, closed.text
    expect(agent.locator(f'#tabs .tab[data-interaction-id="{interaction_id}"]')).to_have_count(0, timeout=WAIT)

    look_up(agent, phone)
    expect(agent.locator("#nc-text")).to_be_visible(timeout=WAIT)
    expect(agent.locator("#nc-template")).to_have_count(0)
    agent.fill("#nc-text", "Here I am, as promised")
    agent.click("#nc-send")

    expect(agent.locator("#new-conversation-dialog")).to_be_hidden(timeout=WAIT)
    expect(agent.locator('#timeline .msg[data-direction="out"]', has_text="Here I am, as promised")).to_be_visible(timeout=WAIT)
    active = agent.locator("#tabs .tab.active")
    expect(active).to_have_count(1)
    assert int(active.get_attribute("data-interaction-id")) != interaction_id
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="as promised")).to_be_visible(timeout=WAIT)
