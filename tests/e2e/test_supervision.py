"""Supervision in real browsers (S1-S3, B7, D10, X2): the supervisor watches agent1's chat live from
the interactions list, adds a note that agent1 sees and agent2 and the customer never do, downloads
the transcript and sees the board change as a customer writes; an agent picks a conversation that
everyone rejected from the queue's waiting list."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_desktop import (
    WAIT,
    a_customer,
    accept_offer,
    customer_says,
    no_page_errors,  # noqa: F401 - the autouse fixture: no script or console errors
    offer_card,
    open_desktop,
    open_simulator,
    tab,
)

pytestmark = pytest.mark.e2e


def board_cell(page, queue: str, key: str):
    return page.locator("#board-queues tr", has_text=queue).locator(f'td[data-key="{key}"]')


def test_supervisor_watches_a_chat_adds_a_note_and_follows_the_board(new_page, api):
    agent1 = open_desktop(new_page, "agent1")
    agent2 = open_desktop(new_page, "agent2")
    boss = open_desktop(new_page, "supervisor")
    sim = open_simulator(new_page)
    phone, name = a_customer()

    # The board: open it, then a customer writes and the waiting count moves without a reload.
    boss.click("#board-button")
    expect(boss.locator("#board-dialog")).to_be_visible()
    waiting = board_cell(boss, "Support", "waiting")
    expect(waiting).to_have_text(re.compile(r"^\d+$"), timeout=WAIT)
    before = int(waiting.inner_text())
    customer_says(sim, phone, name, "Hello, I need help with my bill")
    expect(waiting).to_have_text(str(before + 1), timeout=WAIT)
    expect(board_cell(boss, "Support", "offered")).not_to_have_text("0")
    interaction_id = accept_offer(agent1, name)
    expect(waiting).to_have_text(str(before), timeout=WAIT)
    agent1_row = boss.locator("#board-agents tr", has_text="Alice")
    expect(agent1_row).to_contain_text("online")
    boss.click("#board-close")

    # The list: find the conversation by the customer's name and open it read-only and live.
    boss.click("#list-button")
    boss.fill("#list-q", name)
    boss.press("#list-q", "Enter")
    row = boss.locator(f'#list-rows tr[data-interaction-id="{interaction_id}"]')
    expect(row).to_be_visible(timeout=WAIT)
    expect(row.locator(".ls-dir")).to_have_text("↓")
    row.locator(".ls-show").click()
    spy = boss.locator("#spy-dialog")
    expect(spy).to_be_visible()
    expect(spy.locator("#spy-live")).to_be_visible()
    expect(spy.locator('.msg[data-direction="in"]', has_text="help with my bill")).to_be_visible(timeout=WAIT)

    # Live: the customer and agent1 write, the supervisor sees both.
    customer_says(sim, phone, name, "It is invoice 42")
    expect(spy.locator('.msg[data-direction="in"]', has_text="invoice 42")).to_be_visible(timeout=WAIT)
    agent1.fill("#composer-text", "Looking at it now")
    agent1.press("#composer-text", "Enter")
    expect(spy.locator('.msg[data-direction="out"]', has_text="Looking at it now")).to_be_visible(timeout=WAIT)
    # Read-only: no composer, no close, no transfer in the spy view.
    assert spy.locator("#composer-text, #close-button, #transfer-button").count() == 0

    # A supervisor note: agent1 sees it in the timeline, marked as the supervisor's.
    spy.locator("#spy-note-text").fill("Offer a 10% discount")
    spy.locator("#spy-note-save").click()
    expect(spy.locator('.note[data-kind="supervisor"]', has_text="10% discount")).to_be_visible(timeout=WAIT)
    agent_note = agent1.locator('#timeline .note[data-kind="supervisor"]', has_text="10% discount")
    expect(agent_note).to_be_visible(timeout=WAIT)
    expect(agent_note).to_contain_text("Supervisor note")
    # agent2 never gets it, nor the customer.
    notes_for_agent2 = api("agent2", "agent2").get(f"/interactions/{interaction_id}/notes/").json()["results"]
    assert all(n["kind"] != "supervisor" for n in notes_for_agent2)
    expect(agent2.locator(".note", has_text="10% discount")).to_have_count(0)
    expect(sim.locator(".sim-msg", has_text="10% discount")).to_have_count(0)

    # The transcript, with the supervisor's permission.
    with boss.expect_download() as download:
        spy.locator("#spy-pdf").click()
    assert download.value.suggested_filename == f"interaction-{interaction_id}.pdf"
    assert api("agent2", "agent2").get(f"/interactions/{interaction_id}/transcript.pdf").json()["code"] == "no_transcript_permission"


def test_an_agent_picks_a_conversation_everyone_rejected_from_the_waiting_list(new_page):
    agent1 = open_desktop(new_page, "agent1")
    agent2 = open_desktop(new_page, "agent2")
    sim = open_simulator(new_page)
    phone, name = a_customer()
    customer_says(sim, phone, name, "Is anybody there?")
    for page in (agent1, agent2):
        card = offer_card(page, name)
        expect(card).to_be_visible(timeout=WAIT)
        card.locator(".offer-reject").click()
        expect(card).to_have_count(0)
    waiting = agent2.locator("#queue-waiting .dk-waiting-item", has_text=name)
    expect(waiting).to_be_visible(timeout=WAIT)
    waiting.locator(".dk-pick").click()
    expect(tab(agent2, name)).to_be_visible(timeout=WAIT)
    expect(agent2.locator('#timeline .msg[data-direction="in"]', has_text="anybody there")).to_be_visible(timeout=WAIT)
    expect(agent1.locator("#queue-waiting .dk-waiting-item", has_text=name)).to_have_count(0, timeout=WAIT)
