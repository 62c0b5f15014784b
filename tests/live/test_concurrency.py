"""The embedded default under concurrency (issue 7, Deliver 2), through a real ``manage.py serve`` on SQLite.

One server for the module: each test works on customers of its own, and the server's log must stay
free of ``database is locked`` and of server errors throughout.
"""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .harness import (
    LiveServer,
    discard_server,
    make_server,
    media_url,
    message_payload,
    phone,
    png_for,
    start_provider,
    stop_provider,
    wait_for,
)

# Few attempts and short backoff, so the failing download of the last test fails for good in seconds.
MEDIA_MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def fake():
    fake = start_provider()
    yield fake
    stop_provider(fake)


@pytest.fixture(scope="module")
def server(seeded_sqlite, tmp_path_factory):
    server = make_server(
        seeded_sqlite,
        tmp_path_factory.mktemp("live-concurrency"),
        "concurrency",
        INSTANT_MEDIA_MAX_ATTEMPTS=str(MEDIA_MAX_ATTEMPTS),
        INSTANT_WORK_RETRY_BASE_SECONDS="1",
    )
    server.start()
    yield server
    discard_server(server)


def interaction_of(client: httpx.Client, customer: str) -> dict | None:
    response = client.get("/interactions/", params={"customer_phone": customer})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return results[0] if results else None


def messages_of(client: httpx.Client, interaction_id: int) -> list[dict]:
    response = client.get(f"/interactions/{interaction_id}/messages/", params={"page_size": 500})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_fifty_concurrent_accepts_have_exactly_one_winner(server: LiveServer):
    customer = phone(1001)
    assert server.post_webhook(message_payload(message_id="accept-1", customer=customer, text="hello")).status_code == 200
    agents = {name: server.api(name) for name in ("agent1", "agent2")}
    ids = {}
    for name, client in agents.items():
        assert client.post("/presence/", json={"presence": "online"}).status_code == 200
        ids[name] = client.get("/users/me/").json()["id"]
    interaction = wait_for(lambda: interaction_of(agents["agent1"], customer), timeout=20, what="the interaction")
    assert interaction["status"] == "waiting"

    tokens = {name: client.headers["Authorization"] for name, client in agents.items()}
    callers = ["agent1", "agent2"] * 25
    start = threading.Barrier(len(callers))

    def accept(name: str) -> tuple[str, int, dict]:
        with httpx.Client(base_url=server.url + "/api/v1", timeout=60) as client:
            start.wait(timeout=30)  # all 50 requests leave together
            response = client.post(f"/interactions/{interaction['id']}/accept/", headers={"Authorization": tokens[name]})
            try:
                body = response.json()
            except ValueError:
                body = {"non_json": response.text[:300]}
            return name, response.status_code, body

    with ThreadPoolExecutor(max_workers=len(callers)) as pool:
        results = list(pool.map(accept, callers))

    statuses = sorted(status for _, status, _ in results)
    assert not [s for s in statuses if s >= 500], results
    winners = [(name, body) for name, status, body in results if status == 200]
    assert len(winners) == 1, statuses
    losers = [body for _, status, body in results if status != 200]
    assert len(losers) == 49
    assert all(status == 409 for _, status, _ in results if status != 200), statuses
    assert {body.get("code") for body in losers} == {"already_taken"}, losers[:3]
    winner, body = winners[0]
    assert body["owner"] == ids[winner] and body["status"] == "open"
    assert interaction_of(agents["agent2"], customer)["owner"] == ids[winner]
    server.assert_log_clean()


def test_forty_concurrent_inbound_images_are_all_stored(server: LiveServer, fake):
    count = 40
    names = [f"burst-{i}" for i in range(count)]
    payloads = [
        message_payload(message_id=name, customer=phone(2000 + i), text=f"photo {i}", media_url=media_url(fake, name))
        for i, name in enumerate(names)
    ]
    start = threading.Barrier(count)
    mark = server.log_mark()

    def post(payload: dict) -> int:
        start.wait(timeout=30)
        return server.post_webhook(payload, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        statuses = list(pool.map(post, payloads))
    assert statuses == [200] * count

    def stored() -> int:
        return server.sql(
            "SELECT count(*) FROM interactions_message WHERE provider_message_id LIKE 'burst-%' "
            "AND media_state = 'stored' AND attachment != ''"
        )[0][0]

    wait_for(stored, until=lambda n: n == count, timeout=45, what=f"{count} stored attachments")

    # Each file was downloaded once, and the API serves every one of them, intact, to an agent.
    downloads = [r.path for r in fake.requests if r.method == "GET" and r.path.startswith("/media/burst-")]
    assert sorted(downloads) == sorted(f"/media/{name}.png" for name in names)
    admin = server.api("admin")

    def check(i: int) -> None:
        interaction = interaction_of(admin, phone(2000 + i))
        assert interaction is not None
        (message,) = [m for m in messages_of(admin, interaction["id"]) if m["provider_message_id"] == names[i]]
        assert message["kind"] == "image" and message["media_state"] == "stored" and message["text"] == f"photo {i}"
        attachment = message["attachment"]
        assert attachment["content_type"] == "image/png" and attachment["size"] == len(png_for(names[i]))
        response = admin.get(attachment["url"])
        assert response.status_code == 200 and response.content == png_for(names[i])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(check, range(count)))
    fake.assert_clean()
    # Not even a retried failure: no webhook, contact or download met a conflict under the burst.
    assert "failed (attempt" not in server.log_since(mark) and "failed for good" not in server.log_since(mark)
    server.assert_log_clean()


def _admin_session(server: LiveServer) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    client.get("/admin/login/")
    response = client.post(
        "/admin/login/",
        data={
            "username": "admin",
            "password": "admin",
            "next": "/admin/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:500]
    return client


def test_work_that_keeps_failing_ends_failed_visible_and_retryable_in_the_admin(server: LiveServer, fake):
    """A download the provider keeps refusing ends ``failed`` after its attempts, shows in the admin's
    job list with its error, and the admin's retry action, once the provider is back, stores the file."""
    broken = {"on": True}

    def media(request, match):
        if broken["on"]:
            return 500, {"error": {"code": "boom", "message": "the fake provider is down"}}
        return 200, png_for("broken-1"), {"Content-Type": "image/png"}

    fake.route("GET", r"/broken/broken-1\.png", media)
    customer = phone(5001)
    payload = message_payload(message_id="broken-1", customer=customer, media_url=f"{fake.url}/broken/broken-1.png")
    assert server.post_webhook(payload).status_code == 200

    def failed_job():
        rows = server.sql(
            "SELECT j.id, j.state, j.attempts, m.id, m.media_state FROM core_job j "
            "JOIN interactions_message m ON j.key = 'media:' || m.id WHERE m.provider_message_id = 'broken-1'"
        )
        return rows[0] if rows and rows[0][1] == "failed" else None

    job_id, _, attempts, message_id, media_state = wait_for(failed_job, timeout=30, what="the download to fail for good")
    assert attempts == MEDIA_MAX_ATTEMPTS and media_state == "failed"
    assert len([r for r in fake.requests if r.path == "/broken/broken-1.png"]) == MEDIA_MAX_ATTEMPTS

    admin = _admin_session(server)
    page = admin.get("/admin/core/job/", params={"state__exact": "failed"})
    assert page.status_code == 200
    row = re.search(rf'<tr>(?:(?!</tr>).)*value="{job_id}"(?:(?!</tr>).)*</tr>', page.text, re.S)
    assert row is not None, page.text[-3000:]
    assert f"media:{message_id}" in row.group(0) and "the fake provider is down" in row.group(0)

    # The provider is back: the admin's retry action runs the work again, and the picture arrives.
    broken["on"] = False
    response = admin.post(
        "/admin/core/job/",
        data={
            "action": "retry",
            "_selected_action": str(job_id),
            "index": "0",
            "csrfmiddlewaretoken": admin.cookies["csrftoken"],
        },
    )
    assert response.status_code == 302, response.text[:500]
    api = server.api("admin")
    interaction = interaction_of(api, customer)

    def state() -> dict:
        (message,) = messages_of(api, interaction["id"])
        jobs = server.sql("SELECT state, attempts FROM core_job WHERE key = ?", (f"media:{message_id}",))
        downloads = len([r for r in fake.requests if r.path == "/broken/broken-1.png"])
        return {"message": message, "media_state": message["media_state"], "job": jobs, "downloads": downloads}

    done = wait_for(
        state, until=lambda s: s["media_state"] == "stored", timeout=10, what="the retried download to be stored"
    )
    assert done["downloads"] == MEDIA_MAX_ATTEMPTS + 1 and done["job"] == []
    assert done["message"]["attachment"]["size"] == len(png_for("broken-1"))
    admin.close()
    server.assert_log_clean()
