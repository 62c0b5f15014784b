"""Benchmark: listing contacts (D9) on a large list, as an agent with view permission.

Fills a throw-away database (a temporary SQLite file, or a fresh PostgreSQL database when
DATABASE_URL is set) with ``--contacts`` contacts spread over two lists, tags on a tenth of them,
then times the API as the desktop calls it: the first page of a list in its default order, a tag
filter, a search, "My contacts", and a deep page. Reports p50/p95 per request kind.

    .venv/bin/python bench/contacts_list.py --contacts 100000 --requests 50
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _inprocess import setup_throwaway_database  # noqa: E402  (bench/, the script's own folder)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--masking", default="none", choices=["none", "partial", "full"])
    args = parser.parse_args()

    setup_throwaway_database(test_client=True)
    from django.db import connection
    from rest_framework.test import APIClient

    from apps.contacts.models import Contact, ContactList, ContactListPermission, Tag
    from apps.core.models import InstallationSettings
    from apps.users.models import User

    InstallationSettings.objects.update_or_create(pk=1, defaults={"masking": args.masking})
    agent = User.objects.create_user("bench-agent", password="x", role="agent")
    big, small = ContactList.objects.create(name="Big"), ContactList.objects.create(name="Small")
    ContactListPermission.objects.create(contact_list=big, user=agent, can_edit=True)
    ContactListPermission.objects.create(contact_list=small, user=agent)
    vip, late = Tag.objects.create(name="VIP"), Tag.objects.create(name="Late")
    firsts = ["Anna", "Bruno", "Carla", "Dario", "Elena", "Fabio", "Gina", "Hugo", "Ines", "Luca"]
    lasts = ["Rossi", "Bianchi", "Verdi", "Neri", "Russo", "Ferrari", "Esposito", "Romano", "Gallo", "Costa"]

    started = time.perf_counter()
    batch = []
    for n in range(args.contacts):
        batch.append(
            Contact(
                contact_list=big if n % 10 else small,
                first_name=firsts[n % 10] + str(n % 997),
                last_name=lasts[(n // 10) % 10],
                phone=f"+1555{n:07d}",
                email=f"c{n}@example.com" if n % 3 == 0 else "",
                company=f"Company {n % 500}",
            )
        )
        if len(batch) == 5000:
            Contact.objects.bulk_create(batch)
            batch = []
    Contact.objects.bulk_create(batch)
    ids = list(Contact.objects.filter(contact_list=big).values_list("pk", flat=True)[: args.contacts // 10])
    Contact.tags.through.objects.bulk_create(
        [Contact.tags.through(contact_id=pk, tag_id=vip.pk) for pk in ids]
        + [Contact.tags.through(contact_id=pk, tag_id=late.pk) for pk in ids[::2]]
    )
    Contact.editors.through.objects.bulk_create([Contact.editors.through(contact_id=pk, user_id=agent.pk) for pk in ids[:200]])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"filled {args.contacts} contacts in {time.perf_counter() - started:.1f}s ({connection.vendor})")

    client = APIClient()
    client.force_authenticate(agent)
    kinds = {
        "list page 1": f"/api/v1/contacts/?list={big.pk}",
        "all my lists": "/api/v1/contacts/",
        "tags VIP+Late": f"/api/v1/contacts/?tags={vip.pk}&tags={late.pk}",
        "search": "/api/v1/contacts/?search=Rossi",
        "search phone": "/api/v1/contacts/?search=5550001234",
        "mine": "/api/v1/contacts/?mine=true",
        "page 50": f"/api/v1/contacts/?list={big.pk}&page=50",
    }
    print(f"{'request':<16} {'p50 ms':>8} {'p95 ms':>8}  count")
    for name, url in kinds.items():
        timings = []
        count = None
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:200])
            count = response.json()["count"]
        print(f"{name:<16} {statistics.median(timings):8.1f} {percentile(timings, 95):8.1f}  {count}")


if __name__ == "__main__":
    main()
