"""A Celery worker killed with ``kill -9`` in the middle of a campaign sends no number twice (B4).

The campaign's pump runs in the worker; the kill lands while it is sending. Beat's ``run_due_work``
claims the pump's row again once its lease (3 s here) runs out, and a new worker finishes the
campaign. The recipients the dead pump had marked but not recorded may have reached the customer:
they are failed as ``interrupted``, never sent again.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import psycopg

from tests import processes
from tests.fakeprovider import start_fake_provider
from tests.webhooks import manifest

from .live import ScaledApp

RECIPIENTS = 200
RATE = 40

_SETUP = """
from apps.accounts.models import WhatsAppAccount
from apps.campaigns.models import Campaign
from apps.contacts.models import Contact, ContactList
from apps.queues.models import Queue
from apps.templates.models import Template
account = WhatsAppAccount.objects.create(
    name="Killed campaign", provider="meta", phone_number={phone!r}, credentials={creds!r},
    api_base_url={url!r}, queue=Queue.objects.get(name="Support"),
)
template = Template.objects.create(account=account, name="promo", language="en", body="Hi {{{{1}}}}!", status="approved")
contacts = ContactList.objects.create(name="Killed campaign")
Contact.objects.bulk_create(
    [Contact(contact_list=contacts, first_name=f"K{{n}}", phone=f"+1555770{{n:04d}}") for n in range({count})]
)
campaign = Campaign.objects.create(
    name="Killed", account=account, template=template, contact_list=contacts,
    params=[{{"field": "first_name"}}], rate_per_second={rate},
)
print(campaign.pk)
"""


def _sql(app: ScaledApp, query: str, *params) -> list[tuple]:
    url = app.env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


def test_a_worker_killed_mid_campaign_sends_no_number_twice(scaled_app: ScaledApp):
    meta = manifest("meta")
    creds = meta["credentials"]
    fake = start_fake_provider()
    sends: Counter = Counter()
    lock = threading.Lock()

    def answer(request, match):
        to = request.json()["to"]
        with lock:
            sends[to] += 1
            n = sum(sends.values())
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                     "messages": [{"id": f"wamid.K{n}"}]}

    fake.route("POST", rf"/{creds['api_version']}/{creds['phone_number_id']}/messages", answer)
    try:
        out = processes.run_manage(
            ["shell", "-c", _SETUP.format(phone="+15550007777", creds=creds, url=fake.url, count=RECIPIENTS, rate=RATE)],
            scaled_app.env,
        )
        campaign_id = int(out.strip().splitlines()[-1])
        token = scaled_app.token("admin", "admin")
        response = scaled_app.api("POST", f"/campaigns/{campaign_id}/launch/", token=token)
        assert response.status_code == 200, response.text

        deadline = time.monotonic() + 60
        while sum(sends.values()) < RATE and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = scaled_app.processes["celery"]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = sum(sends.values())
        # The kill must land mid-campaign: otherwise this test proves nothing.
        assert RATE <= at_kill < RECIPIENTS, at_kill

        scaled_app.start_worker()
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline:
            ((status,),) = _sql(scaled_app, "SELECT status FROM campaigns_campaign WHERE id = %s", campaign_id)
            if status == "completed":
                break
            time.sleep(0.5)
        assert status == "completed"
        assert max(sends.values()) == 1, [n for n, c in sends.items() if c > 1]
        rows = dict(_sql(
            scaled_app,
            "SELECT status, count(*) FROM campaigns_campaignrecipient WHERE campaign_id = %s GROUP BY 1",
            campaign_id,
        ))
        interrupted = _sql(
            scaled_app,
            "SELECT count(*) FROM campaigns_campaignrecipient WHERE campaign_id = %s AND status = 'failed' "
            "AND error_code = 'interrupted'",
            campaign_id,
        )[0][0]
        assert rows.get("sent", 0) + interrupted == RECIPIENTS, rows
        # Every recorded send reached the provider once; the interrupted ones at most once.
        assert rows.get("sent", 0) <= len(sends) <= RECIPIENTS
    finally:
        fake.server.shutdown()
