"""End-to-end harness: a real Instant server (Daphne, plus Celery with REDIS_URL) and headless Chromium.

The server runs in subprocesses against its own fresh database, exactly as `make run` would run
it, so these tests must never use pytest-django's ``db`` fixture: they talk to the server over
HTTP, websockets and the browser only, and change its state through ``live_app.manage(...)``.

- Without DATABASE_URL: a SQLite file in a temporary directory (SQLITE_PATH).
- With DATABASE_URL: a separate PostgreSQL database ``instant_e2e`` on the same server, dropped
  and created again for every run.
- With REDIS_URL: Redis database 5 (flushed first) and a Celery worker with beat embedded.

Chromium is Debian's (/usr/bin/chromium): Playwright cannot download its own browsers here.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests import processes

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Grant the microphone and feed it a fake device so MediaRecorder (voice notes) works headless.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
E2E_DB_NAME = "instant_e2e"
E2E_REDIS_DB = 5
START_TIMEOUT = 60.0
HERE = Path(__file__).resolve().parent

# Log files of the running server processes, attached to the report of any failing e2e test.
_LOGS: dict[str, Path] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test against a live server in headless Chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and HERE in Path(str(item.path)).resolve().parents:
        for name, path in _LOGS.items():
            report.sections.append((f"{name} log (last 150 lines)", _tail(path, 150)))
        for page_errors in getattr(item, "_page_errors", []):
            if page_errors:
                report.sections.append(("browser errors", "\n".join(page_errors)))


def _tail(path: Path, lines: int) -> str:
    return processes.tail(path, lines)


def _unavailable(reason: str):
    processes.unavailable(reason)


# ----- the live server --------------------------------------------------------------------------
@dataclass
class LiveApp:
    url: str
    env: dict[str, str]
    tmp: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run ``manage.py <args>`` against the server's database; return its stdout."""
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def logs(self) -> dict[str, str]:
        return {name: path.read_text(errors="replace") for name, path in _LOGS.items() if path.exists()}


def _start(name: str, cmd: list[str], env: dict[str, str], tmp: Path) -> subprocess.Popen:
    _LOGS[name] = tmp / f"{name}.log"
    return processes.start(cmd, env, _LOGS[name])


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, request) -> LiveApp:
    tmp = tmp_path_factory.mktemp("e2e")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"INSTANT_TASKS", "DJANGO_SETTINGS_MODULE", "PORT"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "instant.settings",
            "PUBLIC_BASE_URL": url,
            "PORT": str(port),
            "INSTANT_SWEEP_SECONDS": "1",
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = processes.fresh_postgres(env["DATABASE_URL"], E2E_DB_NAME)
    else:
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(tmp / "e2e.sqlite3")
    if env.get("REDIS_URL"):
        env["REDIS_URL"] = processes.fresh_redis(env["REDIS_URL"], E2E_REDIS_DB)
    else:
        env.pop("REDIS_URL", None)

    processes.run_manage(["migrate", "--noinput"], env, tmp / "migrate.log")
    processes.run_manage(["demo"], env, tmp / "demo.log")

    app = LiveApp(url=url, env=env, tmp=tmp)
    try:
        app.processes["server"] = _start("server", processes.serve_command(port), env, tmp)
        if env.get("REDIS_URL"):
            app.processes["celery"] = _start(
                "celery",
                [
                    CELERY, "-A", "instant", "worker", "-B", "--pool=threads", "--concurrency=4", "-l", "INFO",
                    # beat keeps its schedule file in the cwd by default: keep the repository clean.
                    "-s", str(tmp / "celerybeat-schedule"), "-n", f"e2e-{port}@%h",
                ],
                env,
                tmp,
            )
        processes.wait_until_up(app.url, app.processes, _LOGS, path="/login/", timeout=START_TIMEOUT)
        yield app
    finally:
        for proc in reversed(list(app.processes.values())):
            processes.stop(proc)
        if request.session.testsfailed:
            # The report sections already carry the tails; keep the whole logs for a closer look.
            print(f"\n[e2e] server logs kept in {tmp}", file=sys.stderr)
            for name, text in app.logs().items():
                print(f"\n===== {name} log =====\n{text[-20000:]}", file=sys.stderr)
        _LOGS.clear()


@pytest.fixture
def server_logs(live_app) -> LiveApp:
    """The live app, for a test that wants to look at what the server or worker logged."""
    return live_app


# ----- the browser ------------------------------------------------------------------------------
# Package scope, not session: Playwright's sync API keeps an event loop in the main thread, which
# makes Django refuse synchronous database calls ("async context") in any test that would run
# after it in the same session. Closing it when the e2e package is done keeps the suite runnable
# as a whole.
@pytest.fixture(scope="package")
def browser():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser, live_app, request):
    """``new_page(login=("agent1", "agent1"), next="/simulator/")``: a page in a fresh browser context."""
    contexts = []
    request.node._page_errors = []

    def make(login: tuple[str, str] | None = None, next: str | None = None):
        context = browser.new_context(base_url=live_app.url, permissions=["microphone"])
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        request.node._page_errors.append(errors)
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
        if login is not None:
            username, password = login
            target = "/login/" + (f"?next={next}" if next else "")
            page.goto(target)
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            with page.expect_navigation():
                page.locator("form:has(input[name=password]) [type=submit]").first.click()
            if urlsplit(page.url).path.startswith("/login/"):
                raise AssertionError(f"could not log in as {username}: still on {page.url}")
        elif next:
            page.goto(next)
        return page

    yield make
    for context in contexts:
        try:
            context.close()
        except Exception:  # the browser may already be gone after a failure
            pass


@pytest.fixture(scope="session")
def api(live_app):
    """``api(username, password)``: an httpx client for the REST API with a token for that user."""
    clients: list[httpx.Client] = []

    def make(username: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=live_app.url + "/api/v1", timeout=15)
        response = client.post("/auth/token/", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["Authorization"] = f"Token {response.json()['token']}"
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
