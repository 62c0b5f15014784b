"""What bench/offer_latency.py and bench/sockets.py share: the scaled mode on a throw-away database.

``start_installation()`` drops and creates a PostgreSQL database, flushes a Redis db, runs
``migrate`` and ``demo``, adds agents to queue "Support" (the demo has agent1 and agent2 in it), and
starts the web server (``manage.py serve --server uvicorn|daphne``, ``--web-workers`` processes), one
Celery worker (prefork, ``--concurrency=2``) and one beat, as the README's "Scaling out" and
``bench/load_webhooks.py`` run them. The servers get the SECRET_KEY of this process, so it can sign
Sandbox webhooks as the server checks them.

``add_server_arguments()`` gives each script the same options: ``--server`` (default
``INSTANT_BENCH_SERVER``, else uvicorn, the README's scaled set-up), ``--web-workers``,
``--worker-concurrency``, ``--db-name`` and ``--redis-db`` (so two runs on one machine do not share a
database). Compare servers in back-to-back runs: the box is shared. ``INSTANT_BENCH_POOL=threads``
runs the worker with Celery's thread pool instead of prefork.

PostgreSQL and Redis are found through DATABASE_URL and REDIS_URL (defaults
``postgres://postgres@127.0.0.1:5432/`` and ``redis://127.0.0.1:6379/``); only their servers are
used, never the databases they name.
"""
from __future__ import annotations

import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests import processes  # noqa: E402

PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
SERVERS = ("uvicorn", "daphne")
DEFAULT_SERVER = os.environ.get("INSTANT_BENCH_SERVER") or "uvicorn"


def add_server_arguments(parser, *, db_name: str, redis_db: int) -> None:
    parser.add_argument("--server", choices=SERVERS, default=DEFAULT_SERVER,
                        help=f"ASGI server of manage.py serve (default {DEFAULT_SERVER}; INSTANT_BENCH_SERVER)")
    parser.add_argument("--web-workers", type=int, default=1, help="web processes (uvicorn --workers; default 1)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes (default 2)")
    parser.add_argument("--worker-nice", type=int, default=0,
                        help="run the Celery worker and beat under nice -n N (default 0: same priority as the web)")
    parser.add_argument("--db-name", default=db_name, help=f"throw-away PostgreSQL database (default {db_name})")
    parser.add_argument("--redis-db", type=int, default=redis_db, help=f"Redis db, flushed (default {redis_db})")


def serve_command(port: int, server: str, web_workers: int = 1) -> list[str]:
    return [*processes.serve_command(port), "--server", server, "--workers", str(web_workers)]


def niced(cmd: list[str], nice: int = 0) -> list[str]:
    return ["nice", "-n", str(nice), *cmd] if nice else cmd


def worker_command(port: int, concurrency: int = 2, nice: int = 0) -> list[str]:
    pool = os.environ.get("INSTANT_BENCH_POOL") or "prefork"
    return niced([CELERY, "-A", "instant", "worker", f"--pool={pool}", f"--concurrency={concurrency}", "-l", "WARNING",
                  "-n", f"bench-{port}@%h"], nice)


def describe_servers(server: str, web_workers: int, concurrency: int, nice: int = 0) -> str:
    web = f"{web_workers} × {server}" if web_workers > 1 else f"1 {server}"
    niceness = f", under nice -n {nice}" if nice else ""
    return f"{web}, 1 Celery worker (prefork, --concurrency={concurrency}) and 1 beat{niceness}; PostgreSQL + Redis"

# Extra agents of queue "Support", created with manage.py shell (password = username).
EXTRA_AGENTS = ("agent3", "agent4", "agent5")
AGENTS = ("agent1", "agent2", *EXTRA_AGENTS)
_CREATE_AGENTS = """
from apps.queues.models import Queue
from apps.users.models import User
support = Queue.objects.get(name="Support")
for name in {names!r}:
    user, created = User.objects.get_or_create(username=name, defaults={{"role": User.Role.AGENT, "first_name": name}})
    user.set_password(name)
    user.save()
    support.agents.add(user)
print(support.pk)
"""


@dataclass
class Installation:
    url: str
    port: int
    env: dict[str, str]
    logs: Path
    base_db: str
    db_name: str
    support_queue_id: int = 0
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str]) -> None:
        env = dict(self.env)
        env["DATABASE_URL"] = processes.with_path(env["DATABASE_URL"], f"/{self.db_name}", f"application_name=bench-{name}")
        self.procs[name] = processes.start(cmd, env, self.logs / f"{name}.log")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")

    def stop(self, keep_db: bool = False) -> None:
        for proc in reversed(list(self.procs.values())):
            processes.stop(proc, term_wait=15)
        if not keep_db:
            processes.drop_postgres(self.base_db, self.db_name)
            processes.fresh_redis(self.env["REDIS_URL"], int(self.env["REDIS_URL"].rsplit("/", 1)[1]))

    # ----- clients of the running server ------------------------------------------------------
    def login_session(self, username: str, password: str) -> str:
        """The /login/ form, as a browser posts it; the new session cookie."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            client.get("/login/")
            response = client.post(
                "/login/",
                data={"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
            )
            if response.status_code != 302:
                raise RuntimeError(f"login as {username} failed: {response.status_code}")
            return client.cookies["sessionid"]

    def set_online(self, username: str, password: str) -> None:
        token = httpx.post(
            f"{self.url}/api/v1/auth/token/", json={"username": username, "password": password}, timeout=30
        ).json()["token"]
        response = httpx.post(
            f"{self.url}/api/v1/presence/", json={"presence": "online"}, headers={"Authorization": f"Token {token}"}, timeout=30
        )
        if response.status_code != 200:
            raise RuntimeError(f"presence of {username}: {response.status_code} {response.text}")

    def webhook_url(self) -> str:
        token = httpx.post(f"{self.url}/api/v1/auth/token/", json={"username": "admin", "password": "admin"}, timeout=30).json()["token"]
        response = httpx.get(f"{self.url}/api/v1/accounts/", headers={"Authorization": f"Token {token}"}, timeout=30)
        (account,) = [a for a in response.json()["results"] if a["name"] == "Demo WhatsApp"]
        return account["webhook_url"]

    def rss_kib(self, name: str = "web") -> int:
        """Resident memory of a server process and its children (uvicorn's workers, Celery's pool)."""
        return group_rss_kib(self.procs[name].pid)

    def log_problems(self, name: str = "web") -> list[str]:
        """The ERROR and CRITICAL records of a server log (one line each; tracebacks follow them)."""
        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return [line for line in text.splitlines() if " ERROR" in line or "CRITICAL" in line]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time used so far by the live processes of a process group (a server and its children)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def group_rss_kib(pgid: int) -> int:
    """VmRSS summed over the live processes of a process group."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in stat.with_name("status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total


def raise_open_files(wanted: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE (inherited by the servers it starts) up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def start_installation(
    db_name: str,
    redis_db: int,
    *,
    server: str = DEFAULT_SERVER,
    web_workers: int = 1,
    worker_concurrency: int = 2,
    worker_nice: int = 0,
    extra_env: dict[str, str] | None = None,
) -> Installation:
    base_db = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/"
    if not base_db.startswith(("postgres://", "postgresql://")):
        raise RuntimeError("DATABASE_URL must point at PostgreSQL")
    base_redis = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/"
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    logs = Path(tempfile.mkdtemp(prefix=f"{db_name}-"))
    secret = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40)
    env = {k: v for k, v in os.environ.items() if k not in {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "DATABASE_URL": processes.fresh_postgres(base_db, db_name),
            "REDIS_URL": processes.fresh_redis(base_redis, redis_db),
            "SECRET_KEY": secret,
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "DEBUG": "false",
            "MEDIA_ROOT": str(logs / "media"),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
    )
    inst = Installation(url=url, port=port, env=env, logs=logs, base_db=base_db, db_name=db_name)
    try:
        processes.run_manage(["migrate", "--noinput"], env, timeout=600)
        processes.run_manage(["demo"], env, timeout=600)
        out = processes.run_manage(["shell", "-c", _CREATE_AGENTS.format(names=EXTRA_AGENTS)], env, timeout=600)
        inst.support_queue_id = int(out.strip().splitlines()[-1])
        inst.start("web", serve_command(port, server, web_workers))
        inst.start("worker", worker_command(port, worker_concurrency, worker_nice))
        inst.start("beat", niced([CELERY, "-A", "instant", "beat", "-l", "WARNING", "-s", str(logs / "celerybeat-schedule")], worker_nice))
        processes.wait_until_up(url, inst.procs, {n: logs / f"{n}.log" for n in inst.procs})
    except Exception:
        inst.stop()
        raise
    return inst


def sandbox_message(webhook_url: str, *, message_id: str, phone: str, text: str = "hello") -> tuple[bytes, dict]:
    """A signed Sandbox webhook (body, headers); needs the same SECRET_KEY as the server."""
    from apps.providers import sandbox

    body = json.dumps(
        {"event": "message", "message": {"id": message_id, "from": phone, "name": f"Bench {phone}", "type": "text", "text": text}}
    ).encode()
    return body, {"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(webhook_url, body)}


def setup_django_client(inst: Installation) -> None:
    """This process signs like the server: same settings, no pool, no connection kept."""
    os.environ.update({**inst.env, "DB_POOL": "false"})
    import django

    django.setup()


def start_profile(pid: int, svg: str) -> subprocess.Popen:
    """py-spy (``pip install py-spy`` into the venv) records the web process and its children.

    ``--gil``: only the thread holding the GIL is sampled, so the profile shows where CPU goes, not
    the threads waiting for PostgreSQL.
    """
    spy = str(Path(PYTHON).with_name("py-spy"))
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--rate", "1000", "--output", svg,
                             "--format", "flamegraph" if svg.endswith(".svg") else "raw", "--nonblocking", "--gil"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)
    return proc


def stop_profile(proc: subprocess.Popen) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


# ----- figures ----------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, max(0, int(q * 10) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {ms(pct(values, 50))} · p95 {ms(pct(values, 95))} · p99 {ms(pct(values, 99))}"
        f" · max {ms(max(values))} (n={len(values)})"
    )


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # noqa: BLE001
        return f"load average {os.getloadavg()}"


def wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
