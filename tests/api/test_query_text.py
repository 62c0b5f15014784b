"""A query string carrying NUL is a 400 ``invalid_text``, not a 500 (found by the fuzzer on a search)."""
from __future__ import annotations

import pytest

from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_search_is_refused_with_a_code_and_a_plain_search_still_works(admin_client):
    queue = QueueFactory()
    url = f"/api/v1/queues/{queue.pk}/canned_answers/"
    refused = admin_client.get(url + "?search=a%00b")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_text"
    assert admin_client.get(url + "?search=ab").status_code == 200
