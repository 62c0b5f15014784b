"""Acknowledging a webhook costs little more than a health check: verify, one insert, wake the runner.

Through the real view (issue 11): a new event is one statement on PostgreSQL (the INSERT of the event
and of its work row, in autocommit), one INSERT of each and a COMMIT elsewhere, with the account served
from the process's cache; a redelivery is one statement. The cache never refuses a
good webhook after a change of secret, and a save forgets it at once.
"""
from __future__ import annotations

import json

import pytest

from django.db import connection

from apps.accounts.models import WhatsAppAccount
from apps.core.models import Job
from apps.core.tasks import BatchedWaker
from apps.providers import webhooks
from apps.providers.models import WebhookEvent
from tests.factories import QueueFactory
from tests.webhooks import fixture_bytes, manifest, post_signed, sandbox_message

# Real transactions, as a server runs them: inside a test's transaction every atomic block would be
# a savepoint, two statements a server never sends.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_account_cache():
    webhooks.forget_webhook_accounts()
    yield
    webhooks.forget_webhook_accounts()


@pytest.fixture(autouse=True)
def woken(held_wakeups) -> list[list[str]]:
    """The wake-ups sent after commit, instead of processing the event inline as tests usually do."""
    return held_wakeups


@pytest.fixture
def sandbox_account():
    return WhatsAppAccount.objects.create(name="Sandbox", provider="sandbox", phone_number="+15550001111", queue=QueueFactory())


def _post(client, account, message_id: str):
    return post_signed(client, account, sandbox_message(message_id=message_id), content_type="application/json")


def _statements(captured) -> list[str]:
    """The statements sent, less SQLite's logged ``BEGIN IMMEDIATE`` (psycopg's BEGIN goes unlogged)."""
    return [verb for q in captured.captured_queries if (verb := q["sql"].split()[0].upper()) != "BEGIN"]


def _ack(*, new: bool = True) -> list[str]:
    """The statements of an acknowledgement. PostgreSQL: one, both INSERTs in a WITH, committed by
    autocommit. SQLite: the event's INSERT, its work row's INSERT (a new event only), COMMIT."""
    if connection.vendor == "postgresql":
        return ["WITH"]
    return ["INSERT", "INSERT", "COMMIT"] if new else ["INSERT", "COMMIT"]


def _max_queries(statements: list[str]) -> int:
    return len(statements) + (connection.vendor == "sqlite")  # + SQLite's logged BEGIN IMMEDIATE


def test_a_new_webhook_is_acknowledged_with_one_insert_of_the_event_and_one_of_its_work(
    client, sandbox_account, django_assert_max_num_queries, woken
):
    _post(client, sandbox_account, "warm-up")  # the first webhook of a process reads its account
    woken.clear()
    with django_assert_max_num_queries(_max_queries(_ack())) as captured:
        response = _post(client, sandbox_account, "m-1")
    assert response.status_code == 200
    assert _statements(captured) == _ack()  # no SELECT, no SAVEPOINT
    event = WebhookEvent.objects.get(account=sandbox_account, event_key="msg:m-1")
    assert (event.status, event.duplicates) == ("pending", 0)
    assert Job.objects.filter(key=f"webhook:{event.pk}", args={"event_id": event.pk}).exists()
    assert woken == [[f"webhook:{event.pk}"]]


def test_a_redelivery_is_one_statement_that_counts_it_and_asks_for_no_work(
    client, sandbox_account, django_assert_max_num_queries, woken
):
    _post(client, sandbox_account, "m-1")
    jobs, wakes = Job.objects.count(), len(woken)
    for _ in range(2):
        with django_assert_max_num_queries(_max_queries(_ack(new=False))) as captured:
            assert _post(client, sandbox_account, "m-1").status_code == 200
        assert _statements(captured) == _ack(new=False)
    event = WebhookEvent.objects.get(account=sandbox_account, event_key="msg:m-1")
    assert event.duplicates == 2
    assert WebhookEvent.objects.filter(account=sandbox_account).count() == 1
    assert (Job.objects.count(), len(woken)) == (jobs, wakes)


def _account_of(provider: str, fake_provider) -> WhatsAppAccount:
    data = manifest(provider)
    return WhatsAppAccount.objects.create(
        name=provider, provider=provider, phone_number=data["phone_number"], credentials=data["credentials"],
        api_base_url=fake_provider.url, queue=QueueFactory(),
    )


def _fixture(provider: str, name: str) -> tuple[bytes, str]:
    entry = next(e for e in manifest(provider)["fixtures"] if e["file"] == name)
    return fixture_bytes(provider, name), entry["content_type"]


def test_a_signed_twilio_form_post_costs_the_same(client, fake_provider, django_assert_max_num_queries):
    account = _account_of("twilio", fake_provider)
    body, content_type = _fixture("twilio", "text.form")
    post_signed(client, account, body, content_type=content_type)
    with django_assert_max_num_queries(_max_queries(_ack())) as captured:
        response = post_signed(client, account, _fixture("twilio", "image.form")[0], content_type=content_type)
    assert _statements(captured) == _ack()
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(account=account).count() == 2


def test_a_secret_changed_by_another_process_is_read_again_instead_of_refusing_a_good_webhook(client, fake_provider):
    account = _account_of("meta", fake_provider)
    body, content_type = _fixture("meta", "text.json")
    assert post_signed(client, account, body, content_type=content_type).status_code == 200  # now cached
    # Another process saves a new app secret: this process's signals never hear of it.
    credentials = {**account.credentials, "app_secret": "rotated-secret"}
    WhatsAppAccount.objects.filter(pk=account.pk).update(credentials=credentials)
    account.credentials = credentials
    response = post_signed(client, account, _fixture("meta", "image.json")[0], content_type=content_type)
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(account=account).count() == 2


def test_a_bad_signature_is_still_refused_and_stores_nothing(client, sandbox_account):
    _post(client, sandbox_account, "m-1")
    response = client.post(
        sandbox_account.webhook_path, data=sandbox_message(message_id="m-2"), content_type="application/json",
        headers={"X-Sandbox-Signature": "sha256=" + "0" * 64},
    )
    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "bad_signature"
    assert not WebhookEvent.objects.filter(event_key="msg:m-2").exists()


def test_deactivating_the_account_in_this_process_closes_its_url_at_once(client, sandbox_account):
    assert _post(client, sandbox_account, "m-1").status_code == 200
    sandbox_account.is_active = False
    sandbox_account.save()
    response = _post(client, sandbox_account, "m-2")
    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "unknown_webhook"


def test_the_waker_publishes_from_its_own_thread_and_batches_what_piles_up():
    import threading

    published: list[list[str]] = []
    first_started, release = threading.Event(), threading.Event()

    def publish(keys: list[str]) -> None:
        published.append(keys)
        first_started.set()
        release.wait(5)

    waker = BatchedWaker(publish=publish, batch=4, pause=0)
    waker(["a"])
    assert first_started.wait(5)
    for key in "bcdefg":  # arrive while the first publish is in flight
        waker([key])
    release.set()
    for _ in range(100):
        if sum(len(keys) for keys in published) == 7:
            break
        threading.Event().wait(0.02)
    assert published == [["a"], ["b", "c", "d", "e"], ["f", "g"]]


def test_the_waker_pauses_after_a_publish_so_that_keys_pile_up_but_an_idle_wake_leaves_at_once():
    import threading
    import time

    published: list[tuple[float, list[str]]] = []
    sent = threading.Event()

    def publish(keys: list[str]) -> None:
        published.append((time.monotonic(), keys))
        sent.set()

    waker = BatchedWaker(publish=publish, batch=20, pause=0.3)
    asked = time.monotonic()
    waker(["a"])
    assert sent.wait(5)
    assert published[0][0] - asked < 0.2  # the first wake-up did not wait for the pause
    sent.clear()
    for key in "bcd":  # within the pause: they leave together, once it is over
        waker([key])
    assert sent.wait(5)
    assert published[1][1] == ["b", "c", "d"]
    assert published[1][0] - published[0][0] >= 0.29


def test_through_the_asgi_application_the_middleware_still_runs_and_the_webhook_is_stored(sandbox_account):
    """The servers' entry point runs the sync middleware chain in one hop (apps/core/http_handler.py)."""
    import asyncio

    import httpx

    from apps.core.http_handler import SyncChainASGIHandler
    from apps.providers import sandbox
    from instant import asgi

    assert isinstance(asgi.django_asgi_app, SyncChainASGIHandler)
    body = sandbox_message(message_id="asgi-1")
    signature = sandbox.sign(sandbox_account.webhook_url, body)

    async def run():
        transport = httpx.ASGITransport(app=asgi.application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = await client.get("/login/")
            refused = await client.post("/login/", data={"username": "x", "password": "y"})  # no CSRF token
            hook = await client.post(
                sandbox_account.webhook_path, content=body,
                headers={"Content-Type": "application/json", sandbox.SIGNATURE_HEADER: signature},
            )
        return page, refused, hook

    page, refused, hook = asyncio.run(run())
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"  # XFrameOptionsMiddleware
    assert "csrftoken" in page.cookies  # CsrfViewMiddleware
    assert refused.status_code == 403
    assert hook.status_code == 200
    assert WebhookEvent.objects.filter(account=sandbox_account, event_key="msg:asgi-1").exists()


def test_consumers_forward_events_without_a_thread_hop_per_message(monkeypatch):
    """Channels' per-message close_old_connections hop is skipped by our consumers' dispatch."""
    import asyncio

    from channels import consumer

    from apps.desktop.consumers import DesktopConsumer

    hops = []

    async def hop():
        hops.append(1)

    monkeypatch.setattr(consumer, "aclose_old_connections", hop)
    sent = []
    socket = DesktopConsumer()

    async def server_send(message):  # the ASGI server's send, which the consumer's frames go to
        sent.append(json.loads(message["text"]))

    socket.base_send = server_send
    asyncio.run(socket.dispatch({"type": "event.push", "event": {"type": "x"}}))
    assert [event["type"] for event in sent] == ["x"] and hops == []
    # Channels' own dispatch would have taken the hop.
    asyncio.run(consumer.AsyncConsumer.dispatch(socket, {"type": "event.push", "event": {"type": "x"}}))
    assert hops == [1]
