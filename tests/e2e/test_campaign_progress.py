"""Campaign progress in a real browser (B4): the admin's campaign page shows the progress bar and the
funnel, and they move on their own while the campaign sends (``campaign.progress`` on the socket,
the API as a fallback), up to completed with every recipient sent."""
from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from tests.e2e.test_desktop import WAIT, no_page_errors  # noqa: F401 - the autouse fixture

pytestmark = pytest.mark.e2e


def test_the_admin_watches_a_campaign_progress_live(new_page, api):
    admin = api("admin", "admin")
    (account,) = [a for a in admin.get("/accounts/").json()["results"] if a["name"] == "Demo WhatsApp"]
    templates = admin.get("/templates/", params={"account": account["id"]}).json()["results"]
    (template,) = [t for t in templates if t["name"] == "recontact"]  # no parameters
    n = random.randint(100000, 999999)
    contact_list = admin.post("/contact-lists/", json={"name": f"Campaign e2e {n}"}).json()
    for k in range(3):
        created = admin.post("/contacts/", json={"list": contact_list["id"], "first_name": f"C{k}", "phone": f"+1555{n}{k}"})
        assert created.status_code == 201, created.text
    campaign = admin.post("/campaigns/", json={
        "name": f"Live {n}", "account": account["id"], "template": template["id"],
        "contact_list": contact_list["id"], "params": [], "rate_per_second": 1,
    })
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]

    page = new_page(login=("admin", "admin"), next=f"/admin/campaigns/campaign/{campaign_id}/change/")
    box = page.locator(f'.campaign-progress[data-campaign="{campaign_id}"]')
    expect(box.locator(".campaign-status")).to_have_text("draft")
    expect(box.locator('[data-counter="sent"]')).to_have_text("0")

    assert admin.post(f"/campaigns/{campaign_id}/launch/").status_code == 200
    # Without a reload: running, then completed with the three recipients sent and the bar full.
    expect(box.locator(".campaign-status")).to_have_text("completed", timeout=4 * WAIT)
    expect(box.locator('[data-counter="sent"]')).to_have_text("3")
    expect(box.locator('[data-counter="total"]')).to_have_text("3")
    expect(box.locator(".campaign-percent")).to_have_text("100")
