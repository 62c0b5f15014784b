"""The API is fuzz-clean (issue 7): schemathesis, run against ``/api/schema/`` with an admin token,
finds no server error and no response that breaks the schema (status codes documented, bodies,
content types and headers as documented).

It runs the ``st`` command line exactly as a developer would (settings in tests/schemathesis.toml),
against a real ``manage.py serve`` on a database of its own: SQLite by default, and on PostgreSQL
``<name>_fuzz`` next to DATABASE_URL's database (``instant_fuzz`` in CI). The fuzzer deletes and reconfigures what it finds, so it
never shares the e2e server. Redis is left out: the fuzz targets the HTTP API, not the scaled mode.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests import processes
from tests.e2e.conftest import LiveApp

REPO = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().with_name("schemathesis.toml")
ST = str(Path(sys.executable).with_name("st"))
# The run itself takes about a minute on SQLite; the limit only stops a hung run.
RUN_TIMEOUT_SECONDS = 600


def seed_fuzz_data() -> None:
    """Run in the server's database (``manage.py shell``) after ``demo``: objects for the ids the
    fuzzer tries (1 to 3) so operations reach past their 404s: interactions waiting, open (one
    owned by the admin, with an image attachment and a note) and closed, and a pending transfer."""
    from datetime import timedelta

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from apps.accounts.models import WhatsAppAccount
    from apps.interactions.models import Interaction, Message, Note
    from apps.queues.models import Queue
    from apps.transfers.models import Transfer
    from apps.users.models import User

    now = timezone.now()
    account = WhatsAppAccount.objects.order_by("pk").first()
    queue = Queue.objects.get(name="Support")
    admin, agent1, agent2 = (User.objects.get(username=name) for name in ("admin", "agent1", "agent2"))
    window = now + timedelta(hours=20)

    def interaction(phone: str, **fields) -> Interaction:
        return Interaction.objects.create(
            account=account, queue=queue, customer_phone=phone, customer_name="Fuzz Customer",
            last_message_at=now, last_message_direction="in", last_inbound_at=now, window_expires_at=window,
            **fields,
        )

    mine = interaction("+15550000001", status="open", owner=admin, first_agent=admin, accepted_at=now)
    interaction("+15550000002", status="waiting")
    theirs = interaction("+15550000003", status="open", owner=agent1, first_agent=agent1, accepted_at=now)
    interaction("+15550000004", status="closed", owner=agent2, first_agent=agent2, closed_at=now)

    Message.objects.create(interaction=mine, account=account, direction="in", kind="text", text="Hello", status="received")
    photo = Message(
        interaction=mine, account=account, direction="in", kind="image", text="A receipt", status="received",
        attachment_content_type="image/png", attachment_filename="receipt.png", attachment_size=8,
    )
    photo.attachment.save("receipt.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=False)
    photo.save()
    Message.objects.create(
        interaction=mine, account=account, direction="out", kind="text", text="Hi!", status="sent", sender=admin
    )
    Note.objects.create(interaction=mine, author=admin, text="Asked for the receipt.")
    transfer = Transfer.objects.create(
        interaction=theirs, from_agent=agent1, to_agent=agent2, expires_at=now + timedelta(days=1)
    )
    transfer.offered_to.add(agent2)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory) -> LiveApp:
    tmp = tmp_path_factory.mktemp("fuzz")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    drop = {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE", "PORT", "REDIS_URL", "DEBUG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if env.get("DATABASE_URL"):
        # A new, empty ``<DATABASE_URL's name>_fuzz`` database on the same server.
        name = (urlsplit(env["DATABASE_URL"]).path.lstrip("/") or "instant") + "_fuzz"
        env["DATABASE_URL"] = processes.fresh_postgres(env["DATABASE_URL"], name)
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(tmp / "fuzz.sqlite3")
    processes.run_manage(["migrate", "--noinput"], env, tmp / "fuzz-migrate.log")
    processes.run_manage(["demo"], env, tmp / "fuzz-demo.log")
    processes.run_manage(
        ["shell", "-c", "from tests.test_fuzz import seed_fuzz_data; seed_fuzz_data()"], env, tmp / "fuzz-seed.log"
    )
    app = LiveApp(url=url, env=env, tmp=tmp)
    try:
        log = tmp / "fuzz-server.log"
        app.processes["fuzz-server"] = processes.start(processes.serve_command(port), env, log)
        processes.wait_until_up(url, app.processes, {"fuzz-server": log})
        yield app
    finally:
        for proc in app.processes.values():
            processes.stop(proc)


def admin_token(app: LiveApp) -> str:
    response = httpx.post(app.url + "/api/v1/auth/token/", json={"username": "admin", "password": "admin"})
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.mark.parametrize(
    "body",
    [
        b"--b--\r\n",  # a form with no parts
        b'--b\r\nContent-Disposition: form-data; name="pr\xc3\xa9sence"\r\n\r\nonline\r\n--b--\r\n',  # non-ASCII name
    ],
)
def test_a_form_daphnes_twisted_would_refuse_reaches_django(fuzz_app, body):
    """Twisted answered these with a bare 400 before Django saw them (apps/core/daphne_compat.py)."""
    response = httpx.post(
        fuzz_app.url + "/api/v1/presence/",
        content=body,
        headers={"Authorization": f"Token {admin_token(fuzz_app)}", "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "long_part",
    [
        {"params": {"queues": ["x" * 100] * 200}},  # request line and headers past 16 KiB in all
        {"headers": {"X-Long": "y" * 20_000}},  # one line past Twisted's 16,384 bytes
    ],
)
def test_a_request_twisted_cannot_read_gets_a_json_400(fuzz_app, long_part):
    """Twisted answered these with a bare 400 (no body, no content type) or closed without a word
    (apps/core/daphne_compat.py); found by the fuzzer with a long query string."""
    headers = {"Authorization": f"Token {admin_token(fuzz_app)}", **long_part.get("headers", {})}
    response = httpx.get(fuzz_app.url + "/api/v1/users/", params=long_part.get("params"), headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "bad_request"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzz_app):
    token = admin_token(fuzz_app)

    command = [
        ST, "--config-file", str(CONFIG), "run", f"{fuzz_app.url}/api/schema/",
        "--header", f"Authorization: Token {token}",
    ]
    if os.environ.get("FUZZ_SEED"):
        command += ["--seed", os.environ["FUZZ_SEED"]]
    # Its own working directory: nothing the run writes lands in the repository.
    result = subprocess.run(
        command, cwd=fuzz_app.tmp, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS
    )
    server_log = fuzz_app.tmp / "fuzz-server.log"
    assert result.returncode == 0, (
        f"schemathesis found problems (exit {result.returncode}); rerun with FUZZ_SEED=<the Seed below>\n"
        f"{result.stdout[-30000:]}\n{result.stderr[-5000:]}\n--- server log ---\n{processes.tail(server_log, 150)}"
    )
    # A 500 inside a response the fuzzer accepted (say, a crash in a streamed file) still shows here.
    assert "Internal Server Error" not in server_log.read_text(errors="replace"), processes.tail(server_log, 150)
