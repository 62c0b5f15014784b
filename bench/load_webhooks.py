"""Load test of the scaled mode: signed Sandbox webhooks against the web server + Celery on PostgreSQL and Redis.

Run it with ``make bench`` (or ``.venv/bin/python bench/load_webhooks.py --help``). It needs a
PostgreSQL server and a Redis server, found through DATABASE_URL and REDIS_URL (defaults
``postgres://postgres@127.0.0.1:5432/`` and ``redis://127.0.0.1:6379/``); only their servers are
used, never the databases they name.

What it starts, and stops at the end:

- a throw-away PostgreSQL database ``instant_bench`` (dropped and created; dropped again at the end
  unless ``--keep``) and Redis database 14 (flushed); server logs go to a temporary folder, kept
  when the run fails or with ``--keep``;
- ``manage.py migrate`` and ``manage.py demo``;
- the web server (``manage.py serve --server uvicorn``, or ``--server daphne``; ``--web-workers``
  processes), one Celery worker with the prefork pool and ``--concurrency=2`` (two child processes,
  each with its own connection pool), and one beat process, as the README's "Scaling out" runs them.
  Each connects with its own PostgreSQL ``application_name``. ``--db-name`` and ``--redis-db`` pick
  another database and Redis db, so two runs on one machine do not collide.

Then, from this process (not the servers'), over keep-alive HTTP/1.1 on 127.0.0.1 (``bench/_http.py``):

1. the ceiling: as many ``GET /healthz/`` as webhooks, at the same concurrency;
2. the load: 2,000 signed Sandbox webhooks (distinct message ids, 200 customers) at concurrency 20.

It reports the 5xx count, other non-200 answers and transport errors, ack latency p50/p95/p99/max,
the ack rate beside the ceiling, then waits for processing to finish and reports lost webhooks
(acknowledged, but no message stored when the wait ends), duplicated ones (one provider message id stored twice), the
processing rate (messages stored per second, from the first send to the last message stored) and
the peak number of PostgreSQL connections to ``instant_bench`` seen during the run (polled from
``pg_stat_activity`` every 0.1 s), per process.

It ends with issue 11's targets, each met or not: an ack rate of at least 0.7× the ceiling, an ack p99
of at most 250 ms with no error, processing at 250 messages/s or more, nothing lost or duplicated.

Exit status: 0 when every target is met (no 5xx or transport error, nothing lost or duplicated among
them); 1 otherwise; 2 when the servers could not be started.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

# The repository's own process helpers (tests/processes.py), shared with the server tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _http  # noqa: E402
import _scaled  # noqa: E402
from tests import processes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
BENCH_DB = "instant_bench"
BENCH_REDIS_DB = 14
START_TIMEOUT = 60.0
MESSAGE_PREFIX = "bench-"
# Issue 11's targets for this script.
ACK_RATIO_TARGET = 0.7
ACK_P99_TARGET_MS = 250
PROCESSING_TARGET = 250


# ----- the installation under test ----------------------------------------------------------------
def _with(url: str, path: str, query: str = "") -> str:
    return processes.with_path(url, path, query)


@dataclass
class Servers:
    url: str
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    db_name: str = BENCH_DB

    def start(self, name: str, cmd: list[str]) -> None:
        env = dict(self.env)
        # One application_name per process, so pg_stat_activity says who holds the connections.
        env["DATABASE_URL"] = _with(env["DATABASE_URL"], f"/{self.db_name}", f"application_name=bench-{name}")
        self.processes[name] = processes.start(cmd, env, self.logs / f"{name}.log")

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            processes.stop(proc, term_wait=15)


def manage(env: dict[str, str], *args: str) -> None:
    processes.run_manage(list(args), env, timeout=600)


def wait_until_up(servers: Servers) -> None:
    processes.wait_until_up(servers.url, servers.processes, {n: servers.logs / f"{n}.log" for n in servers.processes})


class ConnectionPeak(threading.Thread):
    """Polls pg_stat_activity for the bench database from a connection to another database."""

    def __init__(self, database_url: str, db_name: str = BENCH_DB, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.db_name = db_name
        self.interval = interval
        self.peak_total = 0
        self.peak_by_app: Counter[str] = Counter()
        self.stop_event = threading.Event()

    def run(self) -> None:
        with psycopg.connect(processes.admin_url(self.database_url), autocommit=True) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s GROUP BY 1",
                    [self.db_name],
                ).fetchall()
                self.peak_total = max(self.peak_total, sum(n for _, n in rows))
                for app, n in rows:
                    self.peak_by_app[app or "(unnamed)"] = max(self.peak_by_app[app or "(unnamed)"], n)
                self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)


# ----- load ---------------------------------------------------------------------------------------------
@dataclass
class Result:
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    first_send: float = 0.0
    elapsed: float = 0.0

    @property
    def count_5xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def other_non_200(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200 and status < 500)


async def run_load(url: str, requests: list[tuple[str, str, bytes, dict]], concurrency: int) -> Result:
    """Send ``requests`` ((key, method, body, headers) against ``url``) with ``concurrency`` in flight."""
    prepared = [(key, _http.build_request(url, method, body, headers)) for key, method, body, headers in requests]
    run = await _http.load(url, prepared, concurrency)
    result = Result(first_send=run.started_at, elapsed=run.elapsed)
    for answer in run.answers:
        if answer.status is None:
            result.errors[answer.error] += 1
            continue
        result.latencies.append(answer.seconds)
        result.statuses[answer.status] += 1
        if answer.status == 200:
            result.acked.append(answer.key)
    return result


def webhook_requests(webhook_url: str, count: int, customers: int) -> list[tuple[str, str, bytes, dict]]:
    from apps.providers import sandbox

    out = []
    for n in range(count):
        message_id = f"{MESSAGE_PREFIX}{n:05d}"
        body = json.dumps(
            {
                "event": "message",
                "message": {
                    "id": message_id,
                    "from": f"+1555010{n % customers:04d}",
                    "name": f"Bench Customer {n % customers}",
                    "type": "text",
                    "text": f"load test message {n}",
                },
            }
        ).encode()
        headers = {"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(webhook_url, body)}
        out.append((message_id, "POST", body, headers))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# ----- processing -------------------------------------------------------------------------------------
@dataclass
class Processing:
    stored: int
    lost: list[str]
    duplicated: dict[str, int]
    last_stored: datetime | None
    events: dict[str, int]
    jobs: dict[str, int]
    waited: float


def wait_for_processing(acked: list[str], *, timeout: float, settle: float = 15.0) -> Processing:
    """Wait until every acknowledged message is stored, or nothing moves and no work is left."""
    from django.db import connection
    from django.db.models import Count

    from apps.core.models import Job
    from apps.interactions.models import Message
    from apps.providers.models import WebhookEvent

    ours = Message.objects.filter(direction="in", provider_message_id__startswith=MESSAGE_PREFIX)
    wanted = set(acked)
    started = time.monotonic()
    last_count, last_change = -1, started
    while True:
        count = ours.count()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if count >= len(wanted):
            break
        work_left = Job.objects.exclude(state=Job.State.FAILED).exists() or WebhookEvent.objects.filter(
            status=WebhookEvent.Status.PENDING
        ).exists()
        now = time.monotonic()
        if now - started > timeout or (not work_left and now - last_change > settle):
            break
        time.sleep(0.25)
    # One snapshot for every figure: with a timeout, the worker may still be storing messages.
    stored = list(ours.values_list("provider_message_id", flat=True))
    duplicated = {key: n for key, n in Counter(stored).items() if n > 1}
    last = ours.order_by("-received_at").values_list("received_at", flat=True).first()
    events = dict(WebhookEvent.objects.values("status").annotate(n=Count("id")).values_list("status", "n"))
    jobs = dict(Job.objects.values("state").annotate(n=Count("id")).values_list("state", "n"))
    result = Processing(
        stored=len(stored),
        lost=sorted(wanted - set(stored)),
        duplicated=duplicated,
        last_stored=last,
        events=events,
        jobs=jobs,
        waited=time.monotonic() - started,
    )
    connection.close()
    return result


# ----- main -------------------------------------------------------------------------------------------
def redis_connections(redis_url: str) -> int:
    """Connections the Redis server has accepted since it started (its INFO stats counter)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="webhooks to send (default 2000)")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight (default 20)")
    parser.add_argument("--customers", type=int, default=200, help="distinct customer numbers (default 200)")
    parser.add_argument("--wait", type=float, default=600, help="longest wait for processing, s (default 600)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    _scaled.add_server_arguments(parser, db_name=BENCH_DB, redis_db=BENCH_REDIS_DB)
    parser.add_argument("--profile", metavar="FILE",
                        help="record the web process with py-spy during the load (.svg: flame graph, else collapsed stacks)")
    args = parser.parse_args()
    db_name = args.db_name

    base_db = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/"
    if not base_db.startswith(("postgres://", "postgresql://")):
        print("bench: DATABASE_URL must point at PostgreSQL", file=sys.stderr)
        return 2
    base_redis = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/"
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    logs = Path(tempfile.mkdtemp(prefix="instant-bench-"))
    database_url = processes.fresh_postgres(base_db, db_name)
    env = {k: v for k, v in os.environ.items() if k not in {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": processes.fresh_redis(base_redis, args.redis_db),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "DEBUG": "false",
            "MEDIA_ROOT": str(logs / "media"),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    # This process reads the same settings (to sign like the server and to count what was stored),
    # without a pool of its own, so that it holds no connection to the bench database while polling.
    os.environ.update(
        {
            **env,
            "DB_POOL": "false",
            "DATABASE_URL": _with(database_url, f"/{db_name}", "application_name=bench-client"),
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()

    servers = Servers(url=url, env=env, logs=logs, db_name=db_name)
    peak = ConnectionPeak(database_url, db_name)
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "demo")
        peak.start()
        servers.start("web", _scaled.serve_command(port, args.server, args.web_workers))
        servers.start("worker", _scaled.worker_command(port, args.worker_concurrency, args.worker_nice))
        servers.start("beat", _scaled.niced(
            [CELERY, "-A", "instant", "beat", "-l", "WARNING", "-s", str(logs / "celerybeat-schedule")], args.worker_nice
        ))
        wait_until_up(servers)
    except Exception as exc:
        print(f"bench: could not start: {exc}\nlogs in {logs}", file=sys.stderr)
        peak.stop()
        servers.stop()
        return 2

    try:
        from django.db import connection

        from apps.accounts.models import WhatsAppAccount

        webhook_url = WhatsAppAccount.objects.get(name="Demo WhatsApp").webhook_url
        connection.close()
        load = webhook_requests(webhook_url, args.requests, args.customers)
        ceiling_requests = [(str(n), "GET", b"", {}) for n in range(args.requests)]

        print(f"bench: {url}, logs in {logs}; load average before: {os.getloadavg()}", flush=True)
        web_cpu = _scaled.group_cpu_seconds(servers.processes["web"].pid)
        ceiling = asyncio.run(run_load(url + "/healthz/", ceiling_requests, args.concurrency))
        ceiling_cpu = _scaled.group_cpu_seconds(servers.processes["web"].pid) - web_cpu
        redis_before = redis_connections(servers.env["REDIS_URL"])
        spy = _scaled.start_profile(servers.processes["web"].pid, args.profile) if args.profile else None
        cpu_before = {name: _scaled.group_cpu_seconds(proc.pid) for name, proc in servers.processes.items()}
        result = asyncio.run(run_load(webhook_url, load, args.concurrency))
        cpu_load = {name: _scaled.group_cpu_seconds(proc.pid) - cpu_before[name] for name, proc in servers.processes.items()}
        if spy is not None:
            _scaled.stop_profile(spy)
        load_average_after_load = os.getloadavg()
        servers.check_alive()
        processing = wait_for_processing(result.acked, timeout=args.wait)
        redis_opened = redis_connections(servers.env["REDIS_URL"]) - redis_before
    finally:
        peak.stop()
        servers.stop()
        if not args.keep:
            processes.drop_postgres(base_db, db_name)

    ack_rate = args.requests / result.elapsed
    ceiling_rate = args.requests / ceiling.elapsed
    process_seconds = (
        processing.last_stored.timestamp() - result.first_send if processing.last_stored else float("nan")
    )
    lines = [
        f"load: {args.requests} signed Sandbox webhooks, {args.customers} customers, concurrency {args.concurrency}",
        "servers: " + _scaled.describe_servers(args.server, args.web_workers, args.worker_concurrency, args.worker_nice),
        f"5xx: {result.count_5xx}   other non-200: {result.other_non_200}   transport errors: {sum(result.errors.values())}"
        + (f" {dict(result.errors)}" if result.errors else ""),
        f"statuses: {dict(sorted(result.statuses.items()))}",
        "ack latency: p50 {} · p95 {} · p99 {} · max {}".format(
            *(ms(percentile(result.latencies, q)) for q in (50, 95, 99)), ms(max(result.latencies, default=0))
        ),
        f"ack rate: {ack_rate:.0f} req/s over {result.elapsed:.1f} s"
        f"   (ceiling, GET /healthz/ at the same concurrency: {ceiling_rate:.0f} req/s,"
        f" p50 {ms(percentile(ceiling.latencies, 50))}, p99 {ms(percentile(ceiling.latencies, 99))}, non-200: {sum(ceiling.statuses.values()) - ceiling.statuses[200]})",
        f"CPU during the load: web {cpu_load['web']:.1f} s ({cpu_load['web'] * 1000 / args.requests:.2f} ms per webhook;"
        f" ceiling: {ceiling_cpu * 1000 / args.requests:.2f} ms per /healthz/),"
        f" worker {cpu_load['worker']:.1f} s, beat {cpu_load['beat']:.1f} s",
        f"acknowledged: {len(result.acked)}   stored: {processing.stored}   lost: {len(processing.lost)}"
        f"   duplicated: {len(processing.duplicated)}",
        f"processing: {processing.stored / process_seconds:.0f} messages/s "
        f"({processing.stored} stored {process_seconds:.1f} s after the first send)",
        f"webhook events: {processing.events}   work rows left: {processing.jobs or 'none'}",
        f"Redis connections opened during the load and its processing: {redis_opened}"
        f" ({redis_opened / max(1, processing.stored):.2f} per message stored)",
        f"peak PostgreSQL connections to {db_name}: {peak.peak_total} "
        f"(per process, each at its own peak: {dict(sorted(peak.peak_by_app.items()))})",
        f"load average after the load: {load_average_after_load}; now: {os.getloadavg()}",
    ]
    if processing.lost:
        lines.append(f"lost ids (first 20): {processing.lost[:20]}")
    if processing.duplicated:
        lines.append(f"duplicated ids (first 20): {list(processing.duplicated.items())[:20]}")
    print("\n".join(lines))
    failed = result.count_5xx or result.errors or processing.lost or processing.duplicated
    if failed or args.keep:
        print(f"bench: server logs kept in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    print("bench: FAILED" if failed else "bench: OK (0 × 5xx, 0 lost, 0 duplicated)")
    ack_p99 = percentile(result.latencies, 99)
    processing_rate = processing.stored / process_seconds
    targets = {
        f"ack rate >= {ACK_RATIO_TARGET:g}× the ceiling (×{ack_rate / ceiling_rate:.2f})":
            ack_rate >= ACK_RATIO_TARGET * ceiling_rate,
        f"ack p99 <= {ACK_P99_TARGET_MS:g} ms, 0 errors ({ms(ack_p99)})":
            ack_p99 * 1000 <= ACK_P99_TARGET_MS and not (result.count_5xx or result.errors),
        f"processing >= {PROCESSING_TARGET:g} msg/s ({processing_rate:.0f})": processing_rate >= PROCESSING_TARGET,
        "0 lost, 0 duplicated": not (processing.lost or processing.duplicated),
    }
    for name, met in targets.items():
        print(f"target (issue 11): {name} → {'met' if met else 'NOT met'}")
    return 1 if failed or not all(targets.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
