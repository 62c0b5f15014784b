from __future__ import annotations

import pytest

from tests.fakeprovider import FakeProvider, start_fake_provider


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INSTANT_TASKS = "sync"
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.INSTANT_SEND_RETRY_BASE_SECONDS = 0


_FAKE: FakeProvider | None = None


@pytest.fixture
def fake_provider() -> FakeProvider:
    """A local fake provider HTTP server; routes and records are reset for every test."""
    global _FAKE
    if _FAKE is None:
        _FAKE = start_fake_provider()
    _FAKE.reset()
    yield _FAKE
