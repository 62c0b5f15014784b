"""D9 in a real browser: an agent searches, edits and merges contacts; a new masking level reaches
the open page at once (B5)."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect


def test_an_agent_searches_edits_and_merges_contacts_and_sees_masking_change_live(new_page, api):
    admin = api("admin", "admin")
    agent_api = api("agent1", "agent1")
    customers = next(l for l in admin.get("/contact-lists/").json()["results"] if l["name"] == "Customers")
    word = "Zora" + uuid.uuid4().hex[:6]
    keep = admin.post("/contacts/", json={"list": customers["id"], "first_name": word, "last_name": "Keep", "phone": "+15557770001"}).json()
    other = admin.post(
        "/contacts/",
        json={"list": customers["id"], "first_name": word, "last_name": "Dup", "phone": "+15557770002", "email": "dup@example.com"},
    ).json()

    page = new_page(login=("agent1", "agent1"), next="/desktop/")
    page.click("#contacts-button")
    dialog = page.locator("#contacts-dialog")
    expect(dialog).to_be_visible()

    # search
    page.fill("#contacts-search", word)
    rows = page.locator("#contacts-rows tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#contacts-count")).to_have_text("2")

    # edit: the company changes, and the contact joins the agent's "My contacts"
    row = page.locator(f"#contacts-rows tr[data-contact-id='{keep['id']}']")
    row.locator(".ct-edit").click()
    editor = page.locator("#contact-editor")
    editor.locator("input[name=company]").fill("Acme E2E")
    editor.locator("#contact-save").click()
    expect(row.locator("td").nth(3)).to_have_text("Acme E2E")
    mine = agent_api.get("/contacts/", params={"mine": "true", "search": word}).json()["results"]
    assert [c["id"] for c in mine] == [keep["id"]]

    # merge: the duplicate goes into the kept contact
    row.locator(".ct-merge").click()
    page.fill("#merge-search", f"{word} Dup")
    page.locator(f".merge-pick[data-contact-id='{other['id']}']").click()
    expect(rows).to_have_count(1)
    assert agent_api.get(f"/contacts/{other['id']}/").status_code == 404
    merged = agent_api.get(f"/contacts/{keep['id']}/").json()
    assert (merged["email"], merged["company"]) == ("dup@example.com", "Acme E2E")

    # an admin turns partial masking on: the open page shows the number masked without a reload
    # (searching by the number keeps finding it: a masked agent's search matches the digits it sees)
    page.fill("#contacts-search", "+15557770001")
    expect(row.locator(".ct-name")).to_contain_text(word)
    try:
        assert admin.patch("/settings/", json={"masking": "partial"}).status_code == 200
        expect(row.locator(".ct-phone")).to_have_text("+••••••••001")
        expect(row.locator(".ct-name")).not_to_contain_text(word)
    finally:
        admin.patch("/settings/", json={"masking": "none"})
    expect(row.locator(".ct-phone")).to_have_text("+15557770001")

    # the message shortcut opens D8's "+" with the contact's number
    row.locator(".ct-message").click()
    expect(page.locator("#new-conversation-dialog")).to_be_visible()
    expect(page.locator("#nc-phone")).to_have_value("+15557770001")


def test_the_contact_card_edits_the_contact_tags_the_chat_and_shows_earlier_conversations(new_page, api):
    from tests.e2e.test_desktop import WAIT, a_customer, accept_offer, customer_says, open_desktop, open_simulator

    agent_api = api("agent1", "agent1")
    vip = next(t for t in agent_api.get("/tags/").json()["results"] if t["name"] == "VIP")
    desktop = open_desktop(new_page, "agent1")
    sim = open_simulator(new_page)
    phone, name = a_customer()
    customer_says(sim, phone, name, "First visit")
    first = accept_offer(desktop, name)
    assert agent_api.post(f"/interactions/{first}/close/").status_code == 200

    # D11 made a contact for the new number; X5: the returning customer's first visit shows above
    customer_says(sim, phone, name, "Back again")
    second = accept_offer(desktop, name)
    assert second != first
    earlier = desktop.locator("#earlier-conversations")
    expect(earlier).to_be_visible(timeout=WAIT)
    expect(earlier.locator("summary")).to_contain_text("Earlier conversations (1)")
    earlier.locator(f".ct-journey-item[data-interaction-id='{first}'] .ct-journey-head").click()
    expect(earlier.locator(".ct-journey-msg", has_text="First visit")).to_be_visible()

    # the card edits the contact during the interaction
    card = desktop.locator("#contact-card")
    expect(card.locator("#card-contact-name")).to_have_text(name)
    card.locator(".ct-card-contact > summary").click()
    card.locator("input[name=company]").fill("Card Co")
    card.locator("#contact-save").click()
    contact_id = agent_api.get(f"/interactions/{second}/").json()["contact"]
    expect(card.locator("#card-contact-name")).to_have_text(name)
    for _ in range(50):
        if agent_api.get(f"/contacts/{contact_id}/").json()["company"] == "Card Co":
            break
        desktop.wait_for_timeout(100)
    assert agent_api.get(f"/contacts/{contact_id}/").json()["company"] == "Card Co"

    # ... and tags the conversation
    card.locator(f"#interaction-tags input[data-tag='{vip['id']}']").check()
    for _ in range(50):
        if agent_api.get(f"/interactions/{second}/").json()["tags"] == [vip["id"]]:
            break
        desktop.wait_for_timeout(100)
    assert agent_api.get(f"/interactions/{second}/").json()["tags"] == [vip["id"]]


def test_a_search_answered_before_the_dialogs_first_load_is_not_overwritten_by_it(new_page, api):
    admin = api("admin", "admin")
    customers = next(l for l in admin.get("/contact-lists/").json()["results"] if l["name"] == "Customers")
    word = "Yuki" + uuid.uuid4().hex[:6]
    admin.post("/contacts/", json={"list": customers["id"], "first_name": word, "last_name": "Only", "phone": "+15557770011"})
    admin.post("/contacts/", json={"list": customers["id"], "first_name": "Someone", "last_name": "Else", "phone": "+15557770012"})

    page = new_page(login=("agent1", "agent1"), next="/desktop/")
    # The unfiltered list (the dialog's first load) answers a second late, after the search's answer.
    page.evaluate(
        """() => {
          const real = window.fetch;
          window.fetch = (url, opts) => {
            const answer = real(url, opts);
            const unfiltered = String(url).includes("contacts/?") && !String(url).includes("search=");
            return unfiltered ? answer.then((r) => new Promise((done) => setTimeout(() => done(r), 1000))) : answer;
          };
        }"""
    )
    page.click("#contacts-button")
    page.fill("#contacts-search", word)
    rows = page.locator("#contacts-rows tr")
    expect(rows).to_have_count(1)
    page.wait_for_timeout(1500)  # the late unfiltered answer has come back by now
    expect(rows).to_have_count(1)
    expect(page.locator("#contacts-count")).to_have_text("1")
