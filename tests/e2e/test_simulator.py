"""The customer simulator (C1) in a real browser, against a live server, with an agent on the REST API."""
from __future__ import annotations

import random
import struct
import time
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def eventually(check, *, timeout: float = 10.0, interval: float = 0.2, what: str = "condition"):
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def a_customer_number() -> str:
    """A fresh +1 555 number per test: the server's database lives for the whole session."""
    return f"+1555{random.randint(2000000, 9999999)}"


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x00\xa8\x84" * 8 for _ in range(8))  # 8x8, Instant green
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(png)
    return path


@pytest.fixture
def agent(api):
    client = api("agent1", "agent1")
    response = client.post("/presence/", json={"presence": "online"})
    assert response.status_code in (200, 201), response.text
    return client


@pytest.fixture
def simulator(new_page):
    """The simulator page, signed in as the supervisor (any signed-in user may play a customer)."""
    page = new_page(login=("supervisor", "supervisor"), next="/simulator/")
    if not page.url.endswith("/simulator/"):
        page.goto("/simulator/")
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "open")
    return page


def customer_says(page, phone: str, text: str, *, name: str = "Erin Endtoend") -> None:
    page.fill("#sim-phone", phone)
    page.fill("#sim-name", name)
    page.fill("#sim-text", text)
    page.click("#sim-send")
    sent = page.locator('.sim-msg[data-direction="from_customer"]', has_text=text)
    expect(sent).to_have_attribute("data-status", "sent")


def take_interaction(agent, phone: str) -> int:
    def find():
        response = agent.get("/interactions/", params={"customer_phone": phone})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        return results[0] if results else None

    interaction = eventually(find, what=f"an interaction for {phone}")
    if interaction["status"] == "waiting":
        response = agent.post(f"/interactions/{interaction['id']}/accept/")
        assert response.status_code == 200, response.text
    return interaction["id"]


def agent_says(agent, interaction_id: int, text: str) -> dict:
    response = agent.post(f"/interactions/{interaction_id}/messages/", json={"text": text})
    assert response.status_code == 201, response.text
    return response.json()


def api_message(agent, interaction_id: int, predicate):
    def find():
        response = agent.get(f"/interactions/{interaction_id}/messages/", params={"page_size": 200})
        assert response.status_code == 200, response.text
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        return next((m for m in rows if predicate(m)), None)

    return find


def test_a_customer_and_an_agent_talk_with_live_delivery_and_read_marks(simulator, agent, tmp_path):
    page = simulator
    phone = a_customer_number()
    customer_says(page, phone, "Hello from the simulator")

    interaction_id = take_interaction(agent, phone)
    inbound = eventually(
        api_message(agent, interaction_id, lambda m: m["direction"] == "in"), what="the inbound message"
    )
    assert inbound["text"] == "Hello from the simulator"

    reply = agent_says(agent, interaction_id, "Hi Erin, how can I help?")

    # The reply appears without a reload, and the phone acknowledges it as delivered on its own.
    bubble = page.locator('.sim-msg[data-direction="to_customer"]', has_text="Hi Erin, how can I help?")
    expect(bubble).to_be_visible()
    expect(bubble).to_have_attribute("data-status", "delivered")
    eventually(
        api_message(agent, interaction_id, lambda m: m["id"] == reply["id"] and m["status"] == "delivered"),
        what="the reply delivered in the API",
    )

    bubble.locator(".sim-mark-read").click()
    expect(bubble).to_have_attribute("data-status", "read")
    eventually(
        api_message(agent, interaction_id, lambda m: m["id"] == reply["id"] and m["status"] == "read"),
        what="the reply read in the API",
    )

    # The customer sends a picture: it is stored with its attachment as an image message.
    page.set_input_files("#sim-file", str(tiny_png(tmp_path / "dot.png")))
    page.fill("#sim-text", "here is a photo")
    page.click("#sim-send")
    photo = page.locator('.sim-msg[data-direction="from_customer"][data-kind="image"]')
    expect(photo).to_have_attribute("data-status", "sent")
    expect(photo.locator("img")).to_be_visible()
    stored = eventually(
        api_message(agent, interaction_id, lambda m: m["kind"] == "image" and m["attachment"]),
        what="the image with its attachment in the API",
    )
    assert stored["text"] == "here is a photo"
    assert stored["attachment"]["content_type"] == "image/png"
    assert stored["attachment"]["size"] > 0


def test_mark_all_read_acknowledges_every_agent_message(simulator, agent):
    page = simulator
    phone = a_customer_number()
    customer_says(page, phone, "Two questions")
    interaction_id = take_interaction(agent, phone)
    first = agent_says(agent, interaction_id, "Answer one")
    second = agent_says(agent, interaction_id, "Answer two")
    incoming = page.locator('.sim-msg[data-direction="to_customer"]')
    expect(incoming).to_have_count(2)
    for i in range(2):
        expect(incoming.nth(i)).to_have_attribute("data-status", "delivered")

    page.click("#sim-mark-all-read")
    for i in range(2):
        expect(incoming.nth(i)).to_have_attribute("data-status", "read")
    for message in (first, second):
        eventually(
            api_message(agent, interaction_id, lambda m, mid=message["id"]: m["id"] == mid and m["status"] == "read"),
            what=f"message {message['id']} read in the API",
        )


def test_the_websocket_reconnects_and_catches_up_on_what_it_missed(simulator, agent):
    page = simulator
    phone = a_customer_number()
    customer_says(page, phone, "Are you there?")
    interaction_id = take_interaction(agent, phone)

    # A plain drop: the page reconnects by itself with backoff.
    first_socket = page.evaluate_handle("window.__sim.ws")
    page.evaluate("window.__sim.ws.close()")
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "closed")
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "open")
    assert page.evaluate("(old) => window.__sim.ws !== old", first_socket)

    # A longer outage: the agent writes while the page is offline; the message is fetched after
    # the reconnect (nothing pushed it while the socket was down) and acknowledged as delivered.
    page.evaluate("window.__sim.simulateDrop(5000)")
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "closed")
    reply = agent_says(agent, interaction_id, "Sorry, I was away")
    bubble = page.locator('.sim-msg[data-direction="to_customer"]', has_text="Sorry, I was away")
    expect(bubble).to_have_count(0)
    expect(page.locator("#sim-connection")).to_have_attribute("data-state", "open", timeout=20_000)
    expect(bubble).to_be_visible()
    expect(bubble).to_have_attribute("data-status", "delivered")
    eventually(
        api_message(agent, interaction_id, lambda m: m["id"] == reply["id"] and m["status"] == "delivered"),
        what="the missed reply delivered in the API",
    )

    # And live pushes work again on the new socket.
    agent_says(agent, interaction_id, "Back online")
    expect(page.locator('.sim-msg[data-direction="to_customer"]', has_text="Back online")).to_be_visible()


def test_a_bad_number_shows_an_error_and_sends_nothing(simulator):
    page = simulator
    page.fill("#sim-phone", "12345")
    page.fill("#sim-text", "hello?")
    page.click("#sim-send")
    expect(page.locator("#sim-error")).to_be_visible()
    expect(page.locator('.sim-msg[data-direction="from_customer"]')).to_have_count(0)
    expect(page.locator("#sim-text")).to_have_value("hello?")


def test_the_simulator_requires_a_login(new_page):
    page = new_page()
    page.goto("/simulator/")
    assert "/login/" in page.url
    expect(page.locator("input[name=username]")).to_be_visible()
