"""Fixtures for the live tests: real ``manage.py serve`` processes on SQLite (see harness.py)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakeprovider import FakeProvider

from .harness import SERVERS, LiveServer, discard_server, make_server, seed_sqlite, start_provider, stop_provider

HERE = Path(__file__).resolve().parent


def _is_live(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live: a test against real manage.py serve processes on SQLite")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_live(item):
            item.add_marker(pytest.mark.live)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _is_live(item):
        for server in SERVERS:
            report.sections.append((f"{server.name} log (last 120 lines)", server.log_tail(120)))


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory) -> Path:
    """Seeded once per session: migrate and demo take seconds, a copy takes milliseconds."""
    return seed_sqlite(tmp_path_factory.mktemp("live-seed"))


@pytest.fixture
def instant_server(seeded_sqlite, tmp_path) -> Iterator[Callable[..., LiveServer]]:
    """``instant_server(name, **env)``: a server (not yet started) of this test, stopped after it."""
    made: list[LiveServer] = []

    def make(name: str = "server", **extra_env: str) -> LiveServer:
        server = make_server(seeded_sqlite, tmp_path, name, **extra_env)
        made.append(server)
        return server

    yield make
    for server in made:
        discard_server(server)


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A fake provider of this test (harness.start_provider), shut down after it."""
    fake = start_provider()
    yield fake
    stop_provider(fake)
