"""Benchmark: campaign sends on durable work against a local fake provider (B4).

Measures, for each configured rate, the achieved send rate over a window (default 30 s) with
several runner threads sharing the token bucket, checks that no number got two messages, and
measures the peak memory of turning a contact list into recipients at two sizes (it must stay
flat: the list is streamed in batches). Uses a throw-away database: a temporary SQLite file by
default, or a fresh PostgreSQL database when DATABASE_URL is set (and Redis for the bucket when
REDIS_URL is set).

    .venv/bin/python bench/campaigns.py --rates 80 500 --seconds 30 --memory 10000 100000
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")
    os.environ["INSTANT_TASKS"] = "sync"
    os.environ.setdefault("SQLITE_PATH", os.path.join(tempfile.mkdtemp(), "bench.sqlite3"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "postgresql":
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)


def fake_meta():
    """The fake Meta Cloud API: answers every template send at once, counting sends per number."""
    from tests.fakeprovider import start_fake_provider

    fake = start_fake_provider()
    fake.server.socket.listen(1024)  # socketserver's backlog of 5 refuses bursts of new connections
    sends: Counter = Counter()
    times: list[float] = []
    lock = threading.Lock()

    def answer(request, match):
        to = request.json()["to"]
        with lock:
            sends[to] += 1
            times.append(time.monotonic())
            n = len(times)
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": f"wamid.B{n}"}]}

    fake.route("POST", r"/v23.0/PNID/messages", answer)
    # The recorder keeps every request; a long run does not need them.
    fake.requests = _Discard()
    return fake, sends, times


class _Discard(list):
    def append(self, item) -> None:  # noqa: D401
        return None


def make_campaign(fake_url: str, contacts: int, rate: int | None, tag: str):
    from apps.accounts.models import WhatsAppAccount
    from apps.campaigns import services
    from apps.contacts.models import Contact, ContactList
    from apps.queues.models import Queue
    from apps.templates.models import Template

    queue, _ = Queue.objects.get_or_create(name="Bench")
    account, _ = WhatsAppAccount.objects.get_or_create(
        name="Bench Meta",
        defaults=dict(
            provider="meta", phone_number="+15550001111", api_base_url=fake_url, queue=queue,
            credentials={"phone_number_id": "PNID", "waba_id": "WABA", "access_token": "T", "app_secret": "S",
                         "verify_token": "V", "api_version": "v23.0"},
        ),
    )
    template, _ = Template.objects.get_or_create(
        account=account, name="promo", language="en", defaults={"body": "Hi {{1}}!", "status": "approved"}
    )
    contact_list = ContactList.objects.create(name=f"Bench {tag}")
    batch = []
    for n in range(contacts):
        batch.append(Contact(contact_list=contact_list, first_name=f"C{n}", phone=f"+1{tag}{n:08d}"))
        if len(batch) == 5000:
            Contact.objects.bulk_create(batch)
            batch = []
    Contact.objects.bulk_create(batch)
    return services.campaign_create(
        name=f"Bench {tag}", account=account, template=template, contact_list=contact_list,
        params=[{"field": "first_name"}], rate_per_second=rate,
    )


def memory_of_prepare(fake_url: str, contacts: int, tag: str) -> tuple[float, float]:
    """Peak Python memory (MB) and seconds of turning ``contacts`` contacts into recipients."""
    from apps.campaigns import services
    from apps.campaigns.models import Campaign

    campaign = make_campaign(fake_url, contacts, 80, tag)
    Campaign.objects.filter(pk=campaign.pk).update(status="running")  # no send jobs: only the preparation
    tracemalloc.start()
    started = time.monotonic()
    services.prepare_recipients(campaign_id=campaign.pk)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    Campaign.objects.filter(pk=campaign.pk).update(status="cancelled")
    return peak / 1e6, elapsed


def run_rate(fake, sends, times, rate: int, seconds: float, workers: int, tag: str) -> dict:
    from django.db import close_old_connections, connection

    from apps.campaigns import services
    from apps.campaigns.models import Campaign, CampaignRecipient
    from apps.core import work

    contacts = int(rate * (seconds + 10) * 1.2)
    campaign = make_campaign(fake.url, contacts, rate, tag)
    sends.clear()
    times.clear()
    services.campaign_launch(campaign_id=campaign.pk)
    services.prepare_recipients(campaign_id=campaign.pk)
    stop = threading.Event()
    errors: list[str] = []

    def runner():
        try:
            while not stop.is_set():
                jobs = work.claim_due(limit=10)
                for job in jobs:
                    work.execute(job)
                if not jobs:
                    time.sleep(0.002)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(repr(exc))
        finally:
            close_old_connections()
            connection.close()

    def sweeper():
        while not stop.is_set():
            try:
                services.campaigns_sweep()
            except Exception as exc:  # pragma: no cover
                errors.append(repr(exc))
            stop.wait(1.0)
        connection.close()

    threads = [threading.Thread(target=runner, daemon=True) for _ in range(workers)]
    threads.append(threading.Thread(target=sweeper, daemon=True))
    for thread in threads:
        thread.start()
    # Measure a steady window: skip the first second, then count sends over ``seconds``.
    time.sleep(1.0)
    start_count, t0 = len(times), time.monotonic()
    time.sleep(seconds)
    end_count, t1 = len(times), time.monotonic()
    Campaign.objects.filter(pk=campaign.pk, status="running").update(status="paused")
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    achieved = (end_count - start_count) / (t1 - t0)
    duplicates = sum(1 for count in sends.values() if count > 1)
    sent_rows = CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
    return {
        "configured": rate,
        "achieved": round(achieved, 1),
        "deviation_pct": round(100 * (achieved - rate) / rate, 2),
        "sent_total": len(sends),
        "sent_rows": sent_rows,
        "duplicates": duplicates,
        "errors": errors[:3],
        "status": Campaign.objects.get(pk=campaign.pk).status,
        "skipped": CampaignRecipient.objects.filter(campaign=campaign, status="skipped").count(),
        "failed": CampaignRecipient.objects.filter(campaign=campaign, status="failed").count(),
        "fail_reasons": dict(Counter(CampaignRecipient.objects.filter(campaign=campaign, status="failed").values_list("error_message", flat=True)).most_common(2)),
        "skip_reasons": dict(Counter(CampaignRecipient.objects.filter(campaign=campaign, status="skipped").values_list("error_code", flat=True))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="*", default=[80, 500])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--memory", type=int, nargs="*", default=[10_000, 100_000])
    args = parser.parse_args()
    setup()
    import logging

    logging.disable(logging.WARNING)  # NoToken retries are routine here
    from django.db import connection

    fake, sends, times = fake_meta()
    print(f"database: {connection.vendor}; bucket: {'redis' if os.environ.get('REDIS_URL') else 'database'}")
    for n, size in enumerate(args.memory):
        peak, elapsed = memory_of_prepare(fake.url, size, tag=f"9{n}")
        print(f"prepare {size:>7} recipients: peak {peak:6.1f} MB, {elapsed:5.1f} s")
    ok = True
    for n, rate in enumerate(args.rates):
        result = run_rate(fake, sends, times, rate, args.seconds, args.workers, tag=f"8{n}")
        within = abs(result["deviation_pct"]) <= 5 and result["duplicates"] == 0
        ok = ok and within
        print(f"rate {rate}/s over {args.seconds:.0f} s: {result} {'OK' if within else 'OUT OF BOUNDS'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
