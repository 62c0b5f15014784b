"""Webhook → ``interaction.offered`` latency on connected agent desktops, in the scaled mode.

Run it with ``make bench`` or ``.venv/bin/python bench/offer_latency.py [--rate 10] [--duration 30]``.
It needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL, as bench/load_webhooks.py).

What it starts (bench/_scaled.py), and stops at the end: a throw-away PostgreSQL database
``instant_bench_offer`` (dropped afterwards unless ``--keep``), Redis db 10 (flushed), ``migrate``,
``demo`` and three more agents in queue "Support" (agent3..agent5, so 5 agents), then the web
server (``--server``: uvicorn by default, or daphne), one Celery worker (prefork,
``--concurrency=2``) and one beat.

Then, over 127.0.0.1:

1. the 5 agents log in through /login/ and go online (``POST /api/v1/presence/``);
2. a client process of its own (this file with ``--client``; Autobahn's asyncio flavour, which comes
   with Daphne, a dependency, so nothing is installed) opens one ``/ws/desktop/`` per agent with its session
   cookie and stamps every ``interaction.offered`` with ``time.monotonic()`` (CLOCK_MONOTONIC, one
   clock for every process of the machine);
3. the ceiling, same server, same run: ``GET /healthz/`` round trips (sequential, before the load,
   and sampled at 5/s during it), and the desktop socket's own ``{"action": "ping"}`` → reply round
   trip (sequential, before the load);
4. the load, open loop: signed Sandbox webhooks, each from a NEW customer, at ``--rate`` per second
   for ``--duration`` seconds. For every webhook and every agent, the latency is the time from just
   before the POST to that agent's ``interaction.offered`` for that customer. An offer that has not
   arrived ``--wait`` seconds after the last POST is missed.

Exit status 0 when nothing was missed, every webhook got 200, no socket closed and p99 <= the
issue's target (``--target-ms``, 150); 1 otherwise; 2 when the servers could not be started.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve()


# ----- the websocket client (a process of its own) ------------------------------------------------
def client_main(ws_url: str, origin: str, pings: int, cookies: list[str]) -> int:
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

    def emit(item: dict) -> None:
        sys.stdout.write(json.dumps(item) + "\n")
        sys.stdout.flush()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        threading.Thread(  # the parent closes our stdin to end the run
            target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))),
            daemon=True,
        ).start()
        opened: dict[int, asyncio.Future] = {i: loop.create_future() for i in range(len(cookies))}
        replies: dict[str, asyncio.Future] = {}
        protocols: dict[int, WebSocketClientProtocol] = {}

        def make_protocol(index: int):
            class Protocol(WebSocketClientProtocol):
                def onOpen(self) -> None:
                    protocols[index] = self
                    opened[index].set_result(True)

                def onMessage(self, payload: bytes, isBinary: bool) -> None:
                    now = time.monotonic()
                    event = json.loads(payload)
                    kind = event.get("type")
                    if kind == "reply":
                        future = replies.pop(str(event["data"].get("request_id")), None)
                        if future and not future.done():
                            future.set_result(now)
                    elif kind == "interaction.offered":
                        phone = event["data"]["interaction"].get("customer_phone")
                        emit({"offered": phone, "sock": index, "t": now})
                    else:
                        emit({"other": kind, "sock": index})

                def onClose(self, wasClean: bool, code, reason) -> None:
                    emit({"closed": {"sock": index, "code": code, "reason": reason, "clean": wasClean}})
                    if not opened[index].done():
                        opened[index].set_result(False)

            return Protocol

        host, port = ws_url.split("//", 1)[1].split("/", 1)[0].split(":")
        for i, cookie in enumerate(cookies):
            factory = WebSocketClientFactory(url=ws_url, origin=origin, headers={"Cookie": f"sessionid={cookie}"})
            factory.protocol = make_protocol(i)
            await loop.create_connection(factory, host, int(port))
        results = await asyncio.wait_for(asyncio.gather(*opened.values()), 30)
        emit({"opened": sum(1 for r in results if r)})
        rtts = []
        for n in range(pings):
            future = loop.create_future()
            replies[str(n)] = future
            sent = time.monotonic()
            protocols[0].sendMessage(json.dumps({"action": "ping", "request_id": str(n)}).encode())
            rtts.append(await asyncio.wait_for(future, 10) - sent)
        emit({"pings": rtts})
        await stop
        for proto in protocols.values():
            proto.sendClose(1000)
        await asyncio.sleep(0.2)

    asyncio.run(run())
    return 0


class ClientProcess:
    def __init__(self, port: int, origin: str, pings: int, cookies: list[str]) -> None:
        self.offers: dict[tuple[str, int], float] = {}
        self.duplicates = 0
        self.closed: list[dict] = []
        self.other: Counter[str] = Counter()
        self.opened: int | None = None
        self.pings: list[float] | None = None
        self.ready = threading.Event()
        self.pinged = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE), "--client", f"ws://127.0.0.1:{port}/ws/desktop/", origin, str(pings), *cookies],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            item = json.loads(line)
            if "offered" in item:
                key = (item["offered"], item["sock"])
                if key in self.offers:
                    self.duplicates += 1
                else:
                    self.offers[key] = item["t"]
            elif "other" in item:
                self.other[item["other"]] += 1
            elif "closed" in item:
                self.closed.append(item["closed"])
            elif "opened" in item:
                self.opened = item["opened"]
                self.ready.set()
            elif "pings" in item:
                self.pings = item["pings"]
                self.pinged.set()
        self.ready.set()
        self.pinged.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ----- the load ---------------------------------------------------------------------------------------
async def send_load(webhook_url: str, healthz_url: str, requests: list[tuple[str, bytes, dict]], rate: float):
    """Open loop: request i leaves at start + i / rate, whatever the answers before it."""
    import httpx

    sent: dict[str, float] = {}
    acks: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    healthz: list[float] = []
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:

        async def one(phone: str, body: bytes, headers: dict) -> None:
            started = time.monotonic()
            sent[phone] = started
            try:
                response = await client.post(webhook_url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                return
            acks.append(time.monotonic() - started)
            statuses[response.status_code] += 1

        async def sample_healthz(until: float) -> None:
            async with httpx.AsyncClient(timeout=30) as own:
                while time.monotonic() < until:
                    started = time.monotonic()
                    response = await own.get(healthz_url)
                    if response.status_code == 200:
                        healthz.append(time.monotonic() - started)
                    await asyncio.sleep(0.2)

        start = time.monotonic() + 0.05
        sampler = asyncio.create_task(sample_healthz(start + len(requests) / rate))
        tasks = []
        for i, (phone, body, headers) in enumerate(requests):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(phone, body, headers)))
        await asyncio.gather(*tasks)
        await sampler
    return sent, acks, statuses, errors, healthz


def breakdown(sent: dict[str, float], offers: dict[tuple[str, int], float], wall_offset: float) -> dict[str, list[float]]:
    """Split each webhook's latency with the rows' own timestamps (wall clock = monotonic + offset)."""
    from django.db import connection
    from django.db.models import Min

    from apps.interactions.models import InteractionOffer
    from apps.providers.models import WebhookEvent

    received = {}
    for body, at, done in WebhookEvent.objects.values_list("body", "received_at", "processed_at"):
        phone = json.loads(bytes(body))["message"]["from"]
        received[phone] = (at.timestamp(), done.timestamp() if done else None)
    first_offer = {
        phone: at.timestamp()
        for phone, at in InteractionOffer.objects.values("interaction__customer_phone")
        .annotate(first=Min("created_at"))
        .values_list("interaction__customer_phone", "first")
    }
    connection.close()
    stages: dict[str, list[float]] = defaultdict(list)
    for phone, started in sent.items():
        got = [t for (p, _), t in offers.items() if p == phone]
        if phone not in received or phone not in first_offer or not got:
            continue
        post, (stored, processed), offered = started + wall_offset, received[phone], first_offer[phone]
        stages["POST → webhook event stored (view)"].append(stored - post)
        stages["event stored → first offer row (queue + processing)"].append(offered - stored)
        if processed:
            stages["event stored → event processed_at"].append(processed - stored)
        stages["first offer row → first agent's socket (commit+publish)"].append(min(got) + wall_offset - offered)
        stages["first agent's socket → last agent's socket"].append(max(got) - min(got))
    return stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10, help="webhooks per second (default 10)")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--wait", type=float, default=20, help="wait for late offers after the last POST, s (default 20)")
    parser.add_argument("--pings", type=int, default=100, help="ceiling round trips of each kind (default 100)")
    parser.add_argument("--target-ms", type=float, default=150, help="p99 target (issue 11: 150 ms)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server logs")
    sys.path.insert(0, str(HERE.parent))
    import httpx

    import _scaled

    _scaled.add_server_arguments(parser, db_name="instant_bench_offer", redis_db=10)
    args = parser.parse_args()

    print(f"offer_latency: uptime before: {_scaled.uptime()}", flush=True)
    try:
        inst = _scaled.start_installation(
            args.db_name, args.redis_db, server=args.server, web_workers=args.web_workers,
            worker_concurrency=args.worker_concurrency, worker_nice=args.worker_nice,
        )
    except Exception as exc:  # noqa: BLE001
        print(f"offer_latency: could not start: {exc}", file=sys.stderr)
        return 2
    client = None
    try:
        _scaled.setup_django_client(inst)
        cookies = []
        for name in _scaled.AGENTS:
            cookies.append(inst.login_session(name, name))
            inst.set_online(name, name)
        webhook_url = inst.webhook_url()
        client = ClientProcess(inst.port, inst.url, args.pings, cookies)
        if not client.ready.wait(60) or client.opened != len(cookies):
            raise RuntimeError(f"desktop sockets did not open: {client.opened}, closed: {client.closed}")
        client.pinged.wait(120)

        healthz_idle = []
        with httpx.Client(timeout=30) as http:
            for _ in range(args.pings):
                started = time.monotonic()
                if http.get(inst.url + "/healthz/").status_code == 200:
                    healthz_idle.append(time.monotonic() - started)

        count = int(args.rate * args.duration)
        run_id = int(time.time()) % 100000
        requests = []
        for n in range(count):
            phone = f"+15557{n:06d}"  # a new customer each time (a fresh database each run)
            body, headers = _scaled.sandbox_message(webhook_url, message_id=f"offer-{run_id}-{n}", phone=phone)
            requests.append((phone, body, headers))
        print(f"offer_latency: {inst.url}, 5 agents online with a desktop socket each; "
              f"{count} webhooks from new customers at {args.rate:g}/s", flush=True)
        pgids = {name: inst.procs[name].pid for name in ("web", "worker")}
        cpu_before = {name: _scaled.group_cpu_seconds(pgid) for name, pgid in pgids.items()}
        sent, acks, statuses, errors, healthz_load = asyncio.run(
            send_load(webhook_url, inst.url + "/healthz/", requests, args.rate)
        )
        load_after = _scaled.uptime()
        expected = {(phone, sock) for phone in sent for sock in range(len(cookies))}
        _scaled.wait_for(lambda: expected <= client.offers.keys(), args.wait, 0.2)
        cpu_per_webhook = {
            name: (_scaled.group_cpu_seconds(pgid) - cpu_before[name]) / max(1, len(sent)) for name, pgid in pgids.items()
        }
        closed_during_run = list(client.closed)
        inst.check_alive()
        problems = inst.log_problems("web") + inst.log_problems("worker")
        stages = breakdown(sent, client.offers, time.time() - time.monotonic())
    finally:
        if client is not None:
            client.stop()
        inst.stop(keep_db=args.keep)

    latencies = [client.offers[key] - sent[key[0]] for key in expected if key in client.offers]
    per_agent = defaultdict(list)
    for (phone, sock), t in client.offers.items():
        if phone in sent:
            per_agent[_scaled.AGENTS[sock]].append(t - sent[phone])
    missed = len(expected) - len(latencies)
    client.closed = closed_during_run
    p99 = _scaled.pct(latencies, 99)
    lines = [
        f"load: {len(sent)} signed Sandbox webhooks from new customers at {args.rate:g}/s; 5 agents online in Support",
        "servers: " + _scaled.describe_servers(args.server, args.web_workers, args.worker_concurrency, args.worker_nice),
        f"webhook answers: {dict(sorted(statuses.items()))}  transport errors: {dict(errors) or 0}"
        f"  ack latency: {_scaled.summary(acks)}",
        f"webhook → interaction.offered, per (webhook, agent): {_scaled.summary(latencies)}",
        f"  missed offers: {missed} of {len(expected)}   duplicated: {client.duplicates}"
        f"   sockets closed during the run: {len(client.closed)} {client.closed[:3] if client.closed else ''}",
        "  per agent p50/p99: " + ", ".join(
            f"{a} {_scaled.ms(_scaled.pct(v, 50))}/{_scaled.ms(_scaled.pct(v, 99))}" for a, v in sorted(per_agent.items())
        ),
        f"ceiling, GET /healthz/ round trip, idle:       {_scaled.summary(healthz_idle)}",
        f"ceiling, GET /healthz/ round trip, under load: {_scaled.summary(healthz_load)}",
        f"ceiling, desktop socket ping → reply, idle:    {_scaled.summary(client.pings or [])}",
        "where the time goes (per webhook, from the database's timestamps and the sockets' receipts):",
        *(f"  {name:<48} {_scaled.summary(values)}" for name, values in stages.items()),
        "CPU per webhook (from the load's start until the last offer arrived; idle polling included): "
        + ", ".join(f"{name} {sec * 1000:.1f} ms" for name, sec in cpu_per_webhook.items())
        + f"; the 2 cores' load average stayed around {os.getloadavg()[1]:.1f}",
        f"other events on the sockets: {dict(client.other)}",
        f"ERROR records in the server logs (web + worker): {len(problems)}" + (f" first: {problems[:3]}" if problems else ""),
        f"target (issue 11): p99 <= {args.target_ms:g} ms → {'met' if p99 * 1000 <= args.target_ms else 'NOT met'}"
        f" (p99 {p99 * 1000:.0f} ms)",
        f"uptime after the load: {load_after}",
    ]
    print("\n".join(lines))
    failed = missed or errors or client.closed or set(statuses) - {200} or not p99 * 1000 <= args.target_ms
    if args.keep or failed:
        print(f"offer_latency: server logs in {inst.logs}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        sys.exit(client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]))
    sys.exit(main())
