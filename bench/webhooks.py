"""Benchmark: inbound webhook ingestion, from the HTTP request to the stored message.

Runs the real webhook view (Django test client, no network) with tasks inline, so each request
covers: signature check, raw event store, parse, contact lookup/creation, interaction join or
open, message insert, offers and realtime publishing. Uses a throw-away database: a temporary
SQLite file by default, or a fresh PostgreSQL database when DATABASE_URL is set.

    .venv/bin/python bench/webhooks.py --messages 1000 --customers 100
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _inprocess import setup_throwaway_database  # noqa: E402  (bench/, the script's own folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100)
    args = parser.parse_args()

    setup_throwaway_database(test_client=True)
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import WhatsAppAccount
    from apps.interactions.models import Interaction, Message
    from apps.providers import sandbox
    from apps.queues.models import Queue
    from apps.users.models import User

    queue = Queue.objects.create(name="Bench")
    for i in range(5):
        User.objects.create(username=f"bench{i}", presence="online").queues.add(queue)
    account = WhatsAppAccount.objects.create(name="Bench", provider="sandbox", phone_number="+15550000000", queue=queue)
    client = Client()
    path = account.webhook_path

    latencies = []
    started = time.perf_counter()
    for n in range(args.messages):
        body = json.dumps(
            {
                "event": "message",
                "message": {"id": f"b{n}", "from": f"+1555{n % args.customers:07d}", "type": "text", "text": f"m{n}"},
            }
        ).encode()
        headers = {sandbox.SIGNATURE_HEADER: sandbox.sign(account.webhook_url, body)}
        t0 = time.perf_counter()
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        latencies.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.content
    elapsed = time.perf_counter() - started

    assert Message.objects.count() == args.messages
    assert Interaction.objects.count() == args.customers
    latencies.sort()
    result = {
        "database": connection.vendor,
        "messages": args.messages,
        "customers": args.customers,
        "throughput_per_s": round(args.messages / elapsed, 1),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
        "latency_ms_max": round(latencies[-1] * 1000, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    if connection.vendor == "postgresql":
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
