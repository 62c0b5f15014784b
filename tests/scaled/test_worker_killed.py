"""A Celery worker killed with ``kill -9`` in the middle of the work loses nothing (PRODUCT.md X3).

The webhooks are acknowledged by the web server, so their processing is only a row in ``core_job``; the
worker that claimed some of them dies. Beat's ``run_due_work`` claims them again once their lease
(5 s here) runs out, and a new worker finishes every one of them, each message stored once.
"""
from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from apps.providers import sandbox

from .live import ScaledApp

WEBHOOKS = 150
CUSTOMERS = 50
# This test's work: other scaled tests share the installation and may leave rows of their own (a
# failed template sync of an account with no reachable provider).
OUR_WORK = "kind = 'providers.webhook'"


def _sql(app: ScaledApp, query: str) -> list[tuple]:
    url = app.env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def _post(webhook_url: str, n: int) -> int:
    body = json.dumps(
        {
            "event": "message",
            "message": {"id": f"killed-{n}", "from": f"+1555020{n % CUSTOMERS:04d}", "type": "text", "text": f"m{n}"},
        }
    ).encode()
    headers = {"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(webhook_url, body)}
    return httpx.post(webhook_url, content=body, headers=headers, timeout=30).status_code


def test_a_worker_killed_mid_run_loses_no_acknowledged_webhook(scaled_app: ScaledApp):
    token = scaled_app.token("admin", "admin")
    (account,) = [
        a for a in scaled_app.api("GET", "/accounts/", token=token).json()["results"] if a["name"] == "Demo WhatsApp"
    ]
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda n: _post(account["webhook_url"], n), range(WEBHOOKS)))
    assert answers == [200] * WEBHOOKS

    worker = scaled_app.processes["celery"]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    ((stored_at_kill,),) = _sql(scaled_app, "SELECT count(*) FROM interactions_message WHERE provider_message_id LIKE 'killed-%'")
    ((left_at_kill,),) = _sql(scaled_app, "SELECT count(*) FROM core_job WHERE kind = 'providers.webhook'")
    # The kill must land while work is still stored: otherwise this test proves nothing.
    assert stored_at_kill < WEBHOOKS and left_at_kill > 0, (stored_at_kill, left_at_kill)

    scaled_app.start_worker()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ((stored,),) = _sql(scaled_app, "SELECT count(*) FROM interactions_message WHERE provider_message_id LIKE 'killed-%'")
        ((left,),) = _sql(scaled_app, f"SELECT count(*) FROM core_job WHERE {OUR_WORK}")
        if stored == WEBHOOKS and left == 0:
            break
        time.sleep(0.5)
    rows = _sql(
        scaled_app,
        "SELECT provider_message_id, count(*) FROM interactions_message WHERE provider_message_id LIKE 'killed-%' "
        "GROUP BY 1",
    )
    assert len(rows) == WEBHOOKS, f"{WEBHOOKS - len(rows)} acknowledged webhooks lost (stored {stored_at_kill} at the kill)"
    assert all(count == 1 for _, count in rows)
    assert _sql(scaled_app, f"SELECT count(*) FROM core_job WHERE {OUR_WORK}") == [(0,)]
    assert _sql(
        scaled_app,
        "SELECT count(*) FROM providers_webhookevent WHERE status <> 'processed' AND event_key LIKE 'msg:killed-%'",
    ) == [(0,)]
