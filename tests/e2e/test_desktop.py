"""The agent desktop (D1–D7) in real browsers: two agents and a simulated WhatsApp customer, against a
live server. Every wait is Playwright's auto-waiting ``expect`` (no fixed sleeps)."""
from __future__ import annotations

import random
import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

WAIT = 15_000


# Chromium logs every refused request; these refusals are races the page handles (a read of a
# conversation a supervisor just closed: 409; a request in flight while signing out: 401).
HANDLED_REFUSALS = re.compile(r"Failed to load resource: the server responded with a status of (401|409) ")


@pytest.fixture(autouse=True)
def no_page_errors(request):
    """Every page of every test here runs without a script error or a console error."""
    yield
    errors = [e for page in getattr(request.node, "_page_errors", []) for e in page if not HANDLED_REFUSALS.search(e)]
    assert not errors, "\n".join(errors)


# ----- helpers ------------------------------------------------------------------------------------
def a_customer() -> tuple[str, str]:
    """A fresh number and name per test: the server's database lives for the whole session."""
    n = random.randint(2000000, 9999999)
    return f"+1555{n}", f"Cust {n}"


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x00\xa8\x84" * 8 for _ in range(8))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def open_desktop(new_page, username: str) -> Page:
    page = new_page(login=(username, username))
    if not page.url.rstrip("/").endswith("/desktop"):
        page.goto("/desktop/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "open", timeout=WAIT)
    # The first catch-up is done: tabs, offers and presence reflect the server.
    expect(page.locator("body")).to_have_attribute("data-synced", re.compile(r"\d+"), timeout=WAIT)
    if page.locator("#presence").input_value() != "online":
        with page.expect_response(lambda r: r.url.endswith("/api/v1/presence/") and r.request.method == "POST"):
            page.select_option("#presence", "online")
    expect(page.locator("body")).to_have_attribute("data-presence", "online")
    return page


def open_simulator(new_page) -> Page:
    page = new_page(login=("supervisor", "supervisor"), next="/simulator/")
    if not page.url.endswith("/simulator/"):
        page.goto("/simulator/")
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "open", timeout=WAIT)
    return page


def customer_says(sim: Page, phone: str, name: str, text: str, file: Path | None = None) -> None:
    sim.fill("#sim-phone", phone)
    sim.fill("#sim-name", name)
    if file is not None:
        sim.set_input_files("#sim-file", str(file))
    sim.fill("#sim-text", text)
    sim.click("#sim-send")
    expect(sim.locator('.sim-msg[data-direction="from_customer"]', has_text=text)).to_have_attribute("data-status", "sent")


def offer_card(page: Page, name: str):
    return page.locator("#offers .offer", has_text=name)


def tab(page: Page, name: str):
    return page.locator("#tabs .tab", has_text=name)


def accept_offer(page: Page, name: str) -> int:
    card = offer_card(page, name)
    expect(card).to_be_visible(timeout=WAIT)
    card.locator(".offer-accept").click()
    expect(card).to_have_count(0)
    expect(tab(page, name)).to_have_class(re.compile(r"\bactive\b"), timeout=WAIT)
    return int(tab(page, name).get_attribute("data-interaction-id"))


def start_conversation(desktop: Page, sim: Page, text: str = "Hello there") -> tuple[str, str, int]:
    phone, name = a_customer()
    customer_says(sim, phone, name, text)
    interaction_id = accept_offer(desktop, name)
    expect(desktop.locator('#timeline .msg[data-direction="in"]', has_text=text)).to_be_visible(timeout=WAIT)
    return phone, name, interaction_id


def admin_settings(api, **changes) -> dict:
    admin = api("admin", "admin")
    response = admin.patch("/settings/", json=changes)
    assert response.status_code == 200, response.text
    return response.json()


def toast(page: Page, text: str):
    return page.locator("#toasts .toast", has_text=text)


# ----- the scenario of the issue ------------------------------------------------------------------
def test_two_agents_and_a_customer_chat_from_offer_to_close(new_page, api, tmp_path):
    agent1 = open_desktop(new_page, "agent1")
    agent2 = open_desktop(new_page, "agent2")
    sim = open_simulator(new_page)
    phone, name = a_customer()

    # The customer writes: both online agents get the offer, with a preview and a countdown.
    customer_says(sim, phone, name, "Hi, my order has not arrived")
    offer1, offer2 = offer_card(agent1, name), offer_card(agent2, name)
    expect(offer1).to_be_visible(timeout=WAIT)
    expect(offer2).to_be_visible(timeout=WAIT)
    expect(offer1.locator(".offer-preview")).to_contain_text("my order has not arrived", timeout=WAIT)
    expect(offer1.locator(".countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(offer1).to_contain_text("Support")
    assert agent1.evaluate("window.__desktop.state.chimes") >= 1  # the audio alert fired

    # agent2 rejects: only its own card goes; agent1 still has the offer.
    offer2.locator(".offer-reject").click()
    expect(offer2).to_have_count(0)
    expect(offer1).to_be_visible()

    # agent1 accepts: a tab opens with the customer's message.
    interaction_id = accept_offer(agent1, name)
    expect(tab(agent1, name)).to_contain_text(name)
    expect(agent1.locator("#chat-name")).to_have_text(name)
    expect(agent1.locator('#timeline .msg[data-direction="in"]', has_text="my order has not arrived")).to_be_visible()

    # A second customer writes: this time agent1 takes it while agent2 looks, and agent2 sees "taken".
    phone_b, name_b = a_customer()
    customer_says(sim, phone_b, name_b, "Another question")
    expect(offer_card(agent2, name_b)).to_be_visible(timeout=WAIT)
    expect(offer_card(agent1, name_b)).to_be_visible(timeout=WAIT)
    accept_offer(agent1, name_b)
    expect(offer_card(agent2, name_b)).to_have_count(0, timeout=WAIT)
    expect(toast(agent2, "taken by Alice Agent")).to_be_visible(timeout=WAIT)
    expect(toast(agent2, "Taken by Alice Agent")).to_be_visible()

    # Back to the first customer; while it is on screen, a message from the second one raises a badge.
    tab(agent1, name).click()
    expect(agent1.locator("#chat-name")).to_have_text(name)
    customer_says(sim, phone_b, name_b, "Hello? Anyone?")
    expect(tab(agent1, name_b).locator(".badge")).to_have_text("1", timeout=WAIT)
    expect(tab(agent1, name).locator(".badge")).to_be_hidden()
    sim.fill("#sim-phone", phone)  # the simulator speaks as the first customer again

    # agent1 answers with Enter; the phone receives it and it is delivered.
    agent1.fill("#composer-text", "Hello! Let me check your order.")
    agent1.press("#composer-text", "Enter")
    reply = agent1.locator('#timeline .msg[data-direction="out"]', has_text="Let me check your order")
    expect(reply).to_be_visible(timeout=WAIT)
    expect(agent1.locator("#composer-text")).to_have_value("")
    sim_reply = sim.locator('.sim-msg[data-direction="to_customer"]', has_text="Let me check your order")
    expect(sim_reply).to_be_visible(timeout=WAIT)
    expect(reply.locator(".mark.mark-delivered")).to_be_visible(timeout=WAIT)

    # Emoji and a canned answer go into the text field at the cursor.
    agent1.click("#emoji-button")
    expect(agent1.locator("#emoji-panel")).to_be_visible()
    assert agent1.locator("#emoji-panel .emoji").count() >= 90
    agent1.locator("#emoji-panel .emoji").first.click()
    expect(agent1.locator("#composer-text")).to_have_value("😀")
    agent1.click("#canned-button")
    agent1.fill("#canned-panel input", "greet")
    expect(agent1.locator("#canned-panel .canned-item")).to_have_count(1)
    agent1.locator("#canned-panel .canned-item").click()
    expect(agent1.locator("#composer-text")).to_have_value(re.compile(r"^😀Hello! Thanks for contacting us"))
    agent1.click("#send")
    expect(agent1.locator('#timeline .msg[data-direction="out"]', has_text="Thanks for contacting us")).to_be_visible(timeout=WAIT)

    # An attachment: a small PNG with a caption, shown inline on both sides.
    png = tiny_png(tmp_path / "receipt.png")
    agent1.set_input_files("#attach-input", str(png))
    expect(agent1.locator("#attachment-chip")).to_contain_text("receipt.png")
    agent1.fill("#composer-text", "Your receipt")
    agent1.click("#send")
    sent_image = agent1.locator('#timeline .msg[data-direction="out"][data-kind="image"]', has_text="Your receipt")
    expect(sent_image.locator("img")).to_be_visible(timeout=WAIT)
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="Your receipt")).to_be_visible(timeout=WAIT)

    # The customer sends a picture: the agent sees it inline once the media is stored.
    customer_says(sim, phone, name, "This is the box", file=tiny_png(tmp_path / "box.png"))
    photo = agent1.locator('#timeline .msg[data-direction="in"][data-kind="image"]', has_text="This is the box")
    expect(photo.locator("img")).to_be_visible(timeout=WAIT)
    # It really loads (served under the session), not just a placeholder box.
    agent1.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=photo.locator("img").element_handle(), timeout=WAIT
    )
    agent1.screenshot(path="/tmp/desktop.png")

    # The customer reads the reply: blue double ticks.
    sim_reply.locator(".sim-mark-read").click()
    expect(reply.locator(".mark.mark-read")).to_be_visible(timeout=WAIT)
    expect(reply).to_have_attribute("data-status", "read")

    # An internal note, shown in the timeline and never sent.
    agent1.click("#note-button")
    agent1.fill("#note-text", "Customer is upset about the delay")
    agent1.click("#note-save")
    note = agent1.locator("#timeline .note", has_text="upset about the delay")
    expect(note).to_be_visible(timeout=WAIT)
    expect(note).to_contain_text("Internal note")
    expect(sim.locator(".sim-msg", has_text="upset about the delay")).to_have_count(0)

    # Close and dispose after a confirmation: the tab leaves.
    agent1.click("#close-button")
    dialog = agent1.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(agent1.locator("#close-dispose")).to_be_disabled()
    agent1.select_option("#close-disposition", label="Solved")
    agent1.click("#close-dispose")
    expect(dialog).to_be_hidden()
    expect(agent1.locator(f'#tabs .tab[data-interaction-id="{interaction_id}"]')).to_have_count(0, timeout=WAIT)

    closed = api("agent1", "agent1").get(f"/interactions/{interaction_id}/").json()
    assert closed["status"] == "closed"
    assert closed["disposition_name"] == "Solved"


# ----- reconnect -----------------------------------------------------------------------------------
def test_after_a_dropped_socket_missed_messages_appear_exactly_once(new_page):
    agent1 = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, name, _ = start_conversation(agent1, sim, "First message")
    inbound = agent1.locator('#timeline .msg[data-direction="in"]')
    connection = agent1.locator("#connection")

    # A plain drop: it reconnects by itself.
    first = agent1.evaluate_handle("window.__desktop.ws")
    agent1.evaluate("window.__desktop.ws.close()")
    expect(connection).to_have_attribute("data-state", re.compile("closed|connecting"))
    expect(connection).to_have_attribute("data-state", "open", timeout=WAIT)
    assert agent1.evaluate("(old) => window.__desktop.ws !== old", first)

    # A longer outage: the customer writes meanwhile; the catch-up brings it, once.
    agent1.evaluate("window.__desktop.simulateDrop(3000)")
    expect(connection).to_have_attribute("data-state", re.compile("closed|connecting"))
    customer_says(sim, phone, name, "Written while you were away")
    expect(connection).to_have_attribute("data-state", "open", timeout=20_000)
    missed = inbound.filter(has_text="Written while you were away")
    expect(missed).to_have_count(1, timeout=WAIT)

    # Live pushes still work on the new socket, and nothing is doubled.
    customer_says(sim, phone, name, "And now live")
    expect(inbound.filter(has_text="And now live")).to_have_count(1, timeout=WAIT)
    expect(inbound).to_have_count(3)
    ids = agent1.eval_on_selector_all("#timeline .msg", "els => els.map(e => e.dataset.messageId)")
    assert len(ids) == len(set(ids))


# ----- attachments --------------------------------------------------------------------------------
def test_a_recorded_voice_message_reaches_the_customer(new_page):
    agent1 = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    start_conversation(agent1, sim, "Can you send me a voice note?")
    agent1.click("#record-button")  # Chromium's fake microphone
    expect(agent1.locator("#recording-indicator")).to_be_visible(timeout=WAIT)
    expect(agent1.locator("#recording-timer")).to_have_text(re.compile(r"^0:0[1-9]$"), timeout=WAIT)
    agent1.click("#record-button")
    expect(agent1.locator("#recording-indicator")).to_be_hidden()
    voice = agent1.locator('#timeline .msg[data-direction="out"][data-kind="voice"]')
    expect(voice.locator("audio")).to_have_count(1, timeout=WAIT)
    expect(sim.locator('.sim-msg[data-direction="to_customer"][data-kind="voice"]')).to_have_count(1, timeout=WAIT)


def test_an_attachment_over_the_limit_is_refused_with_a_clear_error(new_page, api, tmp_path):
    admin_settings(api, attachment_max_bytes=1024 * 1024)
    try:
        agent1 = open_desktop(new_page, "agent1")
        sim = open_simulator(new_page)
        start_conversation(agent1, sim, "Can I send you a file?")
        big = tmp_path / "scan.pdf"
        big.write_bytes(b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024))
        agent1.set_input_files("#attach-input", str(big))
        error = agent1.locator("#toasts .toast-error")
        expect(error).to_contain_text("larger than 1 MB", timeout=WAIT)
        expect(error).to_contain_text("scan.pdf")
        expect(agent1.locator("#attachment-chip")).to_be_hidden()
        expect(agent1.locator('#timeline .msg[data-direction="out"]')).to_have_count(0)
    finally:
        admin_settings(api, attachment_max_bytes=15 * 1024 * 1024)


# ----- the 24-hour window -------------------------------------------------------------------------
def test_an_expired_window_disables_the_text_and_offers_the_recontact_template(new_page, live_app):
    agent1 = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, name, interaction_id = start_conversation(agent1, sim, "Talk tomorrow?")
    expect(agent1.locator("#composer-text")).to_be_enabled()
    expect(agent1.locator("#window-closed")).to_be_hidden()

    live_app.manage(
        "shell",
        "-c",
        "from datetime import timedelta; from django.utils import timezone; "
        "from apps.interactions.models import Interaction; "
        f"Interaction.objects.filter(pk={interaction_id}).update("
        "window_expires_at=timezone.now() - timedelta(minutes=1), window_expiry_announced=False)",
    )
    # The sweep announces it within seconds.
    expect(agent1.locator("#composer-text")).to_be_disabled(timeout=WAIT)
    expect(agent1.locator("#window-closed")).to_be_visible()
    recontact = agent1.locator("#recontact-button")
    expect(recontact).to_be_visible()

    recontact.click()
    # The template is previewed first (tests/e2e/test_recontact_preview.py); the agent confirms.
    expect(agent1.locator("#recontact-preview-body")).to_contain_text("continue our conversation", timeout=WAIT)
    agent1.click("#recontact-send")
    expect(agent1.locator('#timeline .msg[data-direction="out"][data-kind="template"]')).to_be_visible(timeout=WAIT)
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="continue our conversation")).to_be_visible(
        timeout=WAIT
    )

    # The customer answers: the window opens again and so does the text field.
    customer_says(sim, phone, name, "Yes, let's continue")
    expect(agent1.locator("#composer-text")).to_be_enabled(timeout=WAIT)
    expect(agent1.locator("#window-closed")).to_be_hidden()


# ----- transfers ----------------------------------------------------------------------------------
def transfer_to_agent(page: Page, label: str) -> None:
    page.click("#transfer-button")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    if page.locator("#transfer-type").is_visible():
        page.select_option("#transfer-type", "agent")
    expect(page.locator("#transfer-agent option", has_text=label)).to_have_count(1, timeout=WAIT)
    page.select_option("#transfer-agent", label=label)
    page.click("#transfer-confirm")
    expect(page.locator("#transfer-dialog")).to_be_hidden()
    expect(page.locator("#transfer-pending")).to_be_visible(timeout=WAIT)
    expect(page.locator("#transfer-pending .countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))


def test_a_transfer_is_declined_times_out_and_is_accepted(new_page, api):
    agent1 = open_desktop(new_page, "agent1")
    agent2 = open_desktop(new_page, "agent2")
    sim = open_simulator(new_page)
    phone, name, interaction_id = start_conversation(agent1, sim, "Can someone from billing help?")
    expect(offer_card(agent2, name)).to_have_count(0, timeout=WAIT)
    expect(agent1.locator("#transfer-button")).to_be_visible()

    # Declined: the conversation stays with agent1, who is told.
    transfer_to_agent(agent1, "Bob Agent")
    card = agent2.locator(".transfer-offer", has_text="Alice Agent")
    expect(card).to_be_visible(timeout=WAIT)
    expect(card).to_contain_text(name)
    card.locator(".transfer-decline").click()
    expect(card).to_have_count(0)
    expect(toast(agent1, "Transfer declined")).to_be_visible(timeout=WAIT)
    expect(agent1.locator("#transfer-pending")).to_be_hidden()
    expect(tab(agent1, name)).to_have_class(re.compile(r"\bflagged\b"))  # back in the unread list
    tab(agent1, name).click()
    expect(tab(agent1, name)).not_to_have_class(re.compile(r"\bflagged\b"))

    # Timed out: nobody answers within the (shortest allowed) timeout.
    admin_settings(api, transfer_timeout=5)
    try:
        transfer_to_agent(agent1, "Bob Agent")
        expect(agent2.locator(".transfer-offer", has_text=name)).to_be_visible(timeout=WAIT)
        expect(toast(agent1, "Transfer expired")).to_be_visible(timeout=20_000)
        expect(agent2.locator(".transfer-offer", has_text=name)).to_have_count(0, timeout=WAIT)
        expect(agent1.locator("#transfer-pending")).to_be_hidden()
        expect(tab(agent1, name)).to_have_class(re.compile(r"\bflagged\b"))
        expect(tab(agent1, name)).to_have_attribute("data-interaction-id", str(interaction_id))
    finally:
        admin_settings(api, transfer_timeout=300)

    # Accepted: the owner changes on both screens.
    transfer_to_agent(agent1, "Bob Agent")
    card = agent2.locator(".transfer-offer", has_text=name)
    expect(card).to_be_visible(timeout=WAIT)
    card.locator(".transfer-accept").click()
    expect(tab(agent2, name)).to_be_visible(timeout=WAIT)
    expect(agent2.locator("#chat-name")).to_have_text(name)
    expect(agent2.locator('#timeline .msg[data-direction="in"]', has_text="billing")).to_be_visible(timeout=WAIT)
    expect(tab(agent1, name)).to_have_count(0, timeout=WAIT)
    expect(toast(agent1, "now belongs to Bob Agent")).to_be_visible(timeout=WAIT)

    owner = api("agent2", "agent2").get(f"/interactions/{interaction_id}/").json()
    assert owner["owner_name"] == "Bob Agent"

    # The new owner chats; the customer gets it.
    agent2.fill("#composer-text", "Billing here, how can I help?")
    agent2.press("#composer-text", "Enter")
    expect(sim.locator('.sim-msg[data-direction="to_customer"]', has_text="Billing here")).to_be_visible(timeout=WAIT)


# ----- what a new user met --------------------------------------------------------------------------
def record_toasts(page: Page) -> None:
    """Keep the text of every toast the page shows, however briefly it stays."""
    page.evaluate(
        """() => {
            window.__toastLog = [];
            new MutationObserver((records) => {
                for (const record of records)
                    for (const node of record.addedNodes)
                        if (node.classList && node.classList.contains("toast")) window.__toastLog.push(node.textContent);
            }).observe(document.querySelector("#toasts"), { childList: true });
        }"""
    )


def toasts_shown(page: Page, containing: str) -> list[str]:
    return [text for text in page.evaluate("window.__toastLog") if containing in text]


def test_closing_a_chat_shows_one_toast_with_the_customers_name(new_page, api):
    agent1 = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    record_toasts(agent1)

    # Closed by the agent on this page: one toast, from the page, with the disposition.
    phone, name, interaction_id = start_conversation(agent1, sim, "That is all, thanks")
    agent1.click("#close-button")
    agent1.select_option("#close-disposition", label="Solved")
    agent1.click("#close-dispose")
    expect(agent1.locator(f'#tabs .tab[data-interaction-id="{interaction_id}"]')).to_have_count(0, timeout=WAIT)
    # The customer writes again: that offer reaches the socket after the close's own event, so
    # every toast the close causes has been shown by the time the offer is on screen.
    customer_says(sim, phone, name, "Oh, one more thing")
    expect(offer_card(agent1, name)).to_be_visible(timeout=WAIT)
    assert toasts_shown(agent1, "closed") == [f"Conversation with {name} closed · Solved.×"]
    offer_card(agent1, name).locator(".offer-reject").click()

    # Closed by a supervisor: the agent is told once, by the customer's name, and by whom.
    phone, name, interaction_id = start_conversation(agent1, sim, "Are you still there?")
    response = api("supervisor", "supervisor").post(f"/interactions/{interaction_id}/close/", json={})
    assert response.status_code == 200, response.text
    expect(agent1.locator(f'#tabs .tab[data-interaction-id="{interaction_id}"]')).to_have_count(0, timeout=WAIT)
    customer_says(sim, phone, name, "Hello?")
    expect(offer_card(agent1, name)).to_be_visible(timeout=WAIT)
    assert toasts_shown(agent1, "closed")[1:] == [f"The conversation with {name} was closed by Sam Supervisor.×"]
    assert not toasts_shown(agent1, "Customer")
    offer_card(agent1, name).locator(".offer-reject").click()


def test_the_composer_counts_down_to_whatsapps_limit_and_refuses_a_longer_text(new_page, api):
    agent1 = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, name, interaction_id = start_conversation(agent1, sim, "Please send me the full terms")
    counter = agent1.locator("#composer-counter")
    outbound = agent1.locator('#timeline .msg[data-direction="out"]')

    agent1.fill("#composer-text", "Here they are")
    expect(counter).to_be_hidden()
    # Characters as WhatsApp and the server count them: an emoji is one (JavaScript's length says 2).
    agent1.fill("#composer-text", "😀" * 4000)
    expect(counter).to_be_visible()
    expect(counter).to_have_text("96 left")
    agent1.fill("#composer-text", "x" * 4100)
    expect(counter).to_have_text("4 too many")
    expect(counter).to_have_class(re.compile(r"\bover\b"))

    agent1.press("#composer-text", "Enter")
    error = agent1.locator("#toasts .toast-error", has_text="Message too long")
    expect(error).to_be_visible()
    expect(error).to_contain_text("4,100 characters and WhatsApp takes at most 4,096")
    expect(agent1.locator("#composer-text")).to_have_value("x" * 4100)  # nothing lost
    agent1.click("#send")
    expect(error).to_have_count(2)
    expect(outbound).to_have_count(0)
    # The server agrees: one more character is refused there too.
    refused = api("agent1", "agent1").post(f"/interactions/{interaction_id}/messages/", json={"text": "😀" * 4097})
    assert (refused.status_code, refused.json()["code"]) == (400, "text_too_long")

    # Exactly at the limit it goes, and the customer gets it.
    agent1.fill("#composer-text", "😀" * 4096)
    expect(counter).to_have_text("0 left")
    expect(counter).not_to_have_class(re.compile(r"\bover\b"))
    agent1.press("#composer-text", "Enter")
    expect(outbound).to_have_count(1, timeout=WAIT)
    expect(counter).to_be_hidden()
    expect(outbound.locator(".mark.mark-delivered")).to_be_visible(timeout=WAIT)


def toasts_over(page: Page, selector: str) -> list[str]:
    """The toasts whose box overlaps the element's, and whether a click at its centre reaches it."""
    return page.evaluate(
        """(selector) => {
            const target = document.querySelector(selector);
            const box = target.getBoundingClientRect();
            const over = Array.from(document.querySelectorAll("#toasts .toast")).filter((toast) => {
                const r = toast.getBoundingClientRect();
                return r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top;
            }).map((toast) => toast.textContent);
            const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
            if (!hit || !target.contains(hit)) over.push(`the click lands on ${hit && hit.outerHTML.slice(0, 80)}`);
            return over;
        }""",
        selector,
    )


def test_toasts_never_cover_the_cancel_transfer_button(new_page):
    agent1 = open_desktop(new_page, "agent1")
    agent2 = open_desktop(new_page, "agent2")
    sim = open_simulator(new_page)
    phone, name, interaction_id = start_conversation(agent1, sim, "Can someone else help me?")
    transfer_to_agent(agent1, "Bob Agent")
    expect(toast(agent1, "Transfer to Bob Agent requested")).to_be_visible()
    # A stack of toasts grows downwards from below the banner.
    agent1.fill("#composer-text", "x" * 4200)
    agent1.press("#composer-text", "Enter")
    agent1.press("#composer-text", "Enter")
    expect(agent1.locator("#toasts .toast")).to_have_count(3)
    cancel = agent1.locator("#transfer-cancel")
    expect(cancel).to_be_visible()
    assert toasts_over(agent1, "#transfer-cancel") == []

    # On a phone-sized screen the toasts span the width: they still stay below the banner.
    agent1.set_viewport_size({"width": 420, "height": 800})
    expect(cancel).to_be_visible()
    agent1.press("#composer-text", "Enter")
    expect(agent1.locator("#toasts .toast-error").last).to_be_visible()
    assert toasts_over(agent1, "#transfer-cancel") == []

    cancel.click()
    expect(toast(agent1, "Transfer cancelled")).to_be_visible(timeout=WAIT)
    expect(agent1.locator("#transfer-pending")).to_be_hidden()
    expect(agent2.locator(".transfer-offer", has_text=name)).to_have_count(0, timeout=WAIT)


# ----- pages --------------------------------------------------------------------------------------
def test_the_desktop_requires_a_login_and_shows_the_dashboard(new_page):
    page = new_page()
    page.goto("/desktop/")
    assert "/login/" in page.url
    page = open_desktop(new_page, "agent1")
    expect(page.locator('.queue-stat:has-text("Support") .waiting')).to_have_text(re.compile(r"^\d+$"))
    page.select_option("#presence", "paused")
    expect(page.locator("body")).to_have_attribute("data-presence", "paused", timeout=WAIT)
    page.reload()
    expect(page.locator("#presence")).to_have_value("paused")
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/login/"))
