"""Benchmark: the interactions list (D10) at 100,000 interactions and 1,000,000 messages.

Fills a throw-away database fast with ``bulk_create`` (a temporary SQLite file by default, or a
fresh PostgreSQL test database when DATABASE_URL is set), then requests filtered pages through the
real API view (``GET /api/v1/interactions/?...``: filters, permissions, the row extras and the
serializer, as a client gets them) and prints p50/p95/max per kind of filter and the p95 of all
filtered pages together.

    .venv/bin/python bench/list_queries.py                       # 100,000 / 1,000,000
    .venv/bin/python bench/list_queries.py --interactions 10000 --messages 100000 --runs 20
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from _inprocess import setup_throwaway_database  # noqa: E402  (bench/, the script's own folder)

WORDS = (
    "order parcel invoice refund delivery address payment card account password broken late "
    "thanks hello please help where when price discount return exchange size colour store"
).split()
FIRST = "Carla Dario Elsa Fabio Gina Hugo Ines Jonas Kira Luca Mara Nico Olga Pietro Rita Sara".split()
LAST = "Rossi Bianchi Verdi Neri Blu Conti Costa Greco Marino Ricci Bruno Gallo Fontana".split()


def setup() -> None:
    setup_throwaway_database()


def fill(n_interactions: int, n_messages: int, seed: int = 7) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.accounts.models import WhatsAppAccount
    from apps.contacts.models import Tag
    from apps.interactions.models import Interaction, Message
    from apps.queues.models import Queue
    from apps.users.models import User

    rnd = random.Random(seed)
    now = timezone.now()
    queues = [Queue.objects.create(name=f"Queue {i}") for i in range(4)]
    accounts = [
        WhatsAppAccount.objects.create(
            name=f"Account {i}", provider="sandbox", phone_number=f"+1555900{i:04d}", credentials={}, queue=queues[i]
        )
        for i in range(4)
    ]
    agents = []
    for i in range(40):
        agent = User.objects.create(username=f"agent{i}", role=User.Role.AGENT)
        agent.queues.set([queues[i % 4]])
        agents.append(agent)
    supervisor = User.objects.create(username="boss", role=User.Role.SUPERVISOR)
    tags = [Tag.objects.create(name=f"tag{i}") for i in range(20)]

    started = time.perf_counter()
    customers = max(1, n_interactions // 3)
    batch: list[Interaction] = []
    live_keys: set[tuple[int, str]] = set()
    with transaction.atomic():
        for n in range(n_interactions):
            account = accounts[n % 4]
            status = rnd.choices(["closed", "open", "waiting"], weights=[85, 10, 5])[0]
            phone = f"+1555{rnd.randrange(customers):07d}"
            if status != "closed":
                # One open interaction per account and customer: a fresh number for every live one.
                phone = f"+1666{n:07d}"
                live_keys.add((account.pk, phone))
            agent = None if status == "waiting" else agents[(n % 4) + 4 * rnd.randrange(10)]
            start = now - timedelta(minutes=rnd.randrange(180 * 24 * 60))
            batch.append(
                Interaction(
                    account=account,
                    queue_id=account.queue_id,
                    customer_phone=phone,
                    customer_key=phone,
                    customer_name=f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    status=status,
                    owner=agent,
                    first_agent=agent,
                    started_at=start,
                    accepted_at=start + timedelta(seconds=rnd.randrange(600)) if agent else None,
                    closed_at=start + timedelta(hours=1) if status == "closed" else None,
                    last_message_at=start + timedelta(minutes=30),
                    last_message_direction=rnd.choice("io") == "i" and "in" or "out",
                    unread_count=rnd.choice([0, 0, 0, 1, 2]),
                )
            )
            if len(batch) == 5000:
                Interaction.objects.bulk_create(batch)
                batch = []
        if batch:
            Interaction.objects.bulk_create(batch)
    ids = list(Interaction.objects.values_list("pk", "account_id", "started_at"))
    through = Interaction.tags.through
    links = []
    for pk, _, _ in ids:
        if rnd.random() < 0.3:
            for tag in rnd.sample(tags, rnd.choice([1, 2])):
                links.append(through(interaction_id=pk, tag_id=tag.pk))
    through.objects.bulk_create(links, batch_size=5000)
    filled_interactions = time.perf_counter() - started

    started = time.perf_counter()
    per = max(1, n_messages // max(1, len(ids)))
    # One INSERT ... executemany with every column, bypassing the ORM: ``bulk_create`` of a model
    # this wide splits into tiny statements on SQLite and takes minutes for a million rows.
    template = Message(interaction_id=1, account_id=1, direction="in", kind="text", status="received", created_at=now)
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    base = {f.column: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    columns = list(base)
    varying = ("interaction_id", "account_id", "direction", "text", "status", "created_at")
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Message._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    made = 0
    with transaction.atomic(), connection.cursor() as cursor:
        rows = []
        for pk, account_id, start in ids:
            for k in range(per):
                made += 1
                inbound = k % 2 == 0
                values = dict(base)
                values.update(
                    zip(
                        varying,
                        (
                            pk,
                            account_id,
                            "in" if inbound else "out",
                            " ".join(rnd.choices(WORDS, k=8)),
                            "received" if inbound else "delivered",
                            connection.ops.adapt_datetimefield_value(start + timedelta(seconds=30 * k)),
                        ),
                    )
                )
                rows.append([values[c] for c in columns])
                if len(rows) == 20000:
                    cursor.executemany(sql, rows)
                    rows = []
        if rows:
            cursor.executemany(sql, rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "supervisor": supervisor,
        "agents": agents,
        "accounts": accounts,
        "tags": tags,
        "interactions": len(ids),
        "messages": made,
        "fill_seconds": (filled_interactions, time.perf_counter() - started),
        "now": now,
    }


def scenarios(data: dict, rnd: random.Random) -> dict:
    """Kinds of filtered page: each a function returning (user, query string)."""
    from urllib.parse import urlencode

    now = data["now"]

    def since(days: int) -> str:
        return (now - timedelta(days=days)).isoformat()

    sup = data["supervisor"]
    return {
        "closed + account + 30 days": lambda: (
            sup,
            urlencode({"closed": "true", "account": rnd.choice(data["accounts"]).pk, "started_after": since(30)}),
        ),
        "unread + first agent": lambda: (sup, urlencode({"unread": "true", "first_agent": rnd.choice(data["agents"]).pk})),
        "two tags (all match)": lambda: (
            sup,
            urlencode([("tags", t.pk) for t in rnd.sample(data["tags"], 2)]),
        ),
        "agent: open or waiting in my queues": lambda: (rnd.choice(data["agents"]), urlencode({"closed": "false"})),
        "agent: date range": lambda: (
            rnd.choice(data["agents"]),
            urlencode({"started_after": since(90), "started_before": since(60)}),
        ),
        "search: customer name or message text": lambda: (sup, urlencode({"q": rnd.choice(FIRST), "closed": "true", "started_after": since(7)})),
    }


def measure(data: dict, runs: int) -> None:
    from rest_framework.test import APIClient

    rnd = random.Random(11)
    overall: list[float] = []
    print(f"\n{'filter':42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  rows")
    for name, make in scenarios(data, rnd).items():
        times = []
        rows = 0
        for n in range(runs + 1):
            user, query = make()
            client = APIClient()
            client.force_authenticate(user)
            started = time.perf_counter()
            # The desktop's list asks for the newest started first, 25 to a page (views/list.js).
            response = client.get(f"/api/v1/interactions/?{query}&page_size=25&ordering=-started_at", HTTP_HOST="127.0.0.1")
            if n:  # the first request of each kind warms caches and is not counted
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
            rows = response.json()["count"]
        times.sort()
        overall += times
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"{name:42} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}  {rows}")
    overall.sort()
    print(f"\nall filtered pages: p95 {overall[max(0, int(len(overall) * 0.95) - 1)]:.1f} ms over {len(overall)} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=40, help="requests per kind of filter")
    args = parser.parse_args()
    setup()
    from django.db import connection

    data = fill(args.interactions, args.messages)
    print(
        f"{connection.vendor}: {data['interactions']} interactions, {data['messages']} messages "
        f"(filled in {data['fill_seconds'][0]:.0f} s + {data['fill_seconds'][1]:.0f} s)"
    )
    measure(data, args.runs)


if __name__ == "__main__":
    main()
