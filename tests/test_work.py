"""Deferred work is a row (PRODUCT.md X3): stored, claimed once, retried with backoff, failed visibly."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import work
from apps.core.models import Job

pytestmark = pytest.mark.django_db

calls: list[dict] = []


class Flaky(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


failures: list[Exception] = []
gave_up: list[tuple[dict, str]] = []


def _handler(args: dict) -> None:
    calls.append(args)
    if failures:
        raise failures.pop(0)


@pytest.fixture(autouse=True)
def test_kind():
    calls.clear()
    failures.clear()
    gave_up.clear()
    work.register("test.kind", _handler, max_attempts=3, on_failure=lambda args, exc: gave_up.append((args, str(exc))))
    yield
    work._kinds.pop("test.kind", None)


def later(seconds: float = 3600):
    return timezone.now() + timedelta(seconds=seconds)


def test_work_is_stored_once_per_key_and_runs_after_commit(on_commit):
    with on_commit():
        work.enqueue("test.kind", key="k1", args={"n": 1})
        work.enqueue("test.kind", key="k1", args={"n": 2})
        assert calls == []  # nothing runs before the transaction commits
    assert calls == [{"n": 1}]
    assert not Job.objects.exists()  # done work leaves no row behind


def test_an_unknown_kind_is_refused_at_once():
    with pytest.raises(KeyError):
        work.enqueue("no.such.kind", key="x")


def test_a_failure_is_retried_later_with_backoff_and_its_error_kept(on_commit, settings):
    settings.INSTANT_WORK_RETRY_BASE_SECONDS = 10
    failures.append(RuntimeError("database is locked"))
    with on_commit():
        work.enqueue("test.kind", key="k2", args={})
    job = Job.objects.get(key="k2")
    assert (job.state, job.attempts) == ("pending", 1)
    assert "database is locked" in job.last_error
    wait = (job.next_attempt_at - timezone.now()).total_seconds()
    assert 4 <= wait <= 10.5  # base 10 s, half fixed and half jitter
    assert work.run_due() == 0  # not due yet
    assert work.run_due(now=later()) == 1
    assert not Job.objects.exists() and len(calls) == 2


def test_retry_after_from_the_error_is_honoured(on_commit):
    failures.append(Flaky("slow down", retry_after=42))
    with on_commit():
        work.enqueue("test.kind", key="k3", args={})
    job = Job.objects.get(key="k3")
    assert 41 <= (job.next_attempt_at - timezone.now()).total_seconds() <= 42.5


def test_a_permanent_error_fails_the_work_at_once_and_tells_its_kind(on_commit):
    failures.append(Flaky("bad number", permanent=True))
    with on_commit():
        work.enqueue("test.kind", key="k4", args={"id": 4})
    job = Job.objects.get(key="k4")
    assert (job.state, job.attempts) == ("failed", 1)
    assert gave_up == [({"id": 4}, "bad number")]


def test_the_last_attempt_fails_the_work_for_the_admin_to_retry(on_commit):
    failures.extend([RuntimeError("one"), RuntimeError("two"), RuntimeError("three")])
    with on_commit():
        work.enqueue("test.kind", key="k5", args={})
    work.run_due(now=later())
    job = Job.objects.get(key="k5")
    assert (job.state, job.attempts) == ("failed", 3)
    assert "three" in job.last_error and len(gave_up) == 1
    with on_commit():
        assert work.retry_failed([job.pk]) == 1
    assert not Job.objects.exists() and len(calls) == 4


def test_a_claimed_job_is_not_claimed_twice_until_its_lease_runs_out():
    Job.objects.create(kind="test.kind", key="k6", args={})
    first = work.claim_due()
    assert [j.key for j in first] == ["k6"]
    assert work.claim_due() == []  # running, lease not over: nobody else takes it
    lease_over = timezone.now() + timedelta(seconds=121)
    again = work.claim_due(now=lease_over)
    assert [j.key for j in again] == ["k6"] and again[0].attempts == 2
    # The first runner wakes up late: it may no longer record an outcome for the row.
    assert work.execute(first[0]) == "done" and Job.objects.filter(key="k6").exists()
    assert work.execute(again[0]) == "done" and not Job.objects.filter(key="k6").exists()


def test_the_embedded_worker_takes_back_what_a_killed_process_left_running():
    Job.objects.create(kind="test.kind", key="k7", args={})
    assert len(work.claim_due()) == 1
    assert work.release_orphans() == 1
    assert work.run_due() == 1 and calls == [{}]


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.INSTANT_WORK_RETRY_BASE_SECONDS = 2
    settings.INSTANT_WORK_RETRY_MAX_SECONDS = 60
    for attempt, full in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = [work.backoff_delay(attempt) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1
    assert work.backoff_delay(5, retry_after=7) == 7


def test_the_admin_lists_failed_work_and_retries_it(client, on_commit):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", role="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    job = Job.objects.create(kind="test.kind", key="k8", args={}, state="failed", attempts=3, last_error="boom")
    page = client.get("/admin/core/job/?state=failed").content.decode()
    assert "k8" in page and "boom" in page
    with on_commit():
        response = client.post("/admin/core/job/", {"action": "retry", "_selected_action": [job.pk]})
    assert response.status_code == 302
    assert calls == [{}] and not Job.objects.exists()


def test_a_handler_that_asks_again_keeps_its_row_for_the_next_slice(on_commit):
    slices: list[int] = []

    def pump(args: dict) -> float | None:
        slices.append(len(slices))
        return 5.0 if len(slices) < 3 else None

    work.register("test.pump", pump, max_attempts=1, lease_seconds=30)
    try:
        with on_commit():
            work.enqueue("test.pump", key="pump1")
        job = Job.objects.get(key="pump1")
        # Asked again in 5 s, with fresh attempts: a kind of one attempt still runs slice after slice.
        assert job.state == "pending" and job.attempts == 0 and job.next_attempt_at > timezone.now()
        [claimed] = work.claim_due(now=later(10))
        # A short-lease kind: a killed runner's slice is taken up again after 30 s, not the default.
        assert claimed.locked_until <= later(10) + timedelta(seconds=31)
        assert work.execute(claimed) == "again"
        [claimed] = work.claim_due(now=later(20))
        assert work.execute(claimed) == "done"
        assert slices == [0, 1, 2] and not Job.objects.filter(key="pump1").exists()
    finally:
        work._kinds.pop("test.pump", None)


def test_rows_of_a_kind_with_a_batch_handler_run_together_in_one_call():
    batches: list[list[dict]] = []
    work.register("test.batched", _handler, batch_handler=batches.append)
    try:
        for n in range(3):
            work.enqueue("test.batched", key=f"b{n}", args={"n": n})  # not woken: no on_commit here
        assert work.run_due() == 3
        assert batches == [[{"n": 0}, {"n": 1}, {"n": 2}]]
        assert calls == []  # the one-by-one handler was not needed
        assert not Job.objects.exists()
    finally:
        work._kinds.pop("test.batched", None)


def test_a_batch_that_raises_keeps_nothing_and_each_row_runs_on_its_own():
    from apps.core.models import InstallationSettings

    def broken_batch(args_list: list[dict]) -> None:
        InstallationSettings.objects.update(masking="full")  # undone with the batch
        raise RuntimeError("one of them is odd")

    work.register("test.batched", _handler, max_attempts=3, batch_handler=broken_batch)
    try:
        InstallationSettings.load()
        for n in range(2):
            work.enqueue("test.batched", key=f"b{n}", args={"n": n})
        failures.append(Flaky("the first one fails alone"))
        assert work.run_due() == 2
        assert InstallationSettings.objects.get().masking != "full"
        assert calls == [{"n": 0}, {"n": 1}]
        # The row that failed on its own is retried as any other; the other one is done.
        job = Job.objects.get()
        assert (job.key, job.state, job.attempts) == ("b0", "pending", 1)
    finally:
        work._kinds.pop("test.batched", None)


def test_a_row_whose_lease_is_half_spent_before_its_turn_is_given_back_not_run(settings, monkeypatch):
    settings.INSTANT_WORK_LEASE_SECONDS = 100
    for n in range(2):
        work.enqueue("test.kind", key=f"slow{n}", args={"n": n})
    real_now = timezone.now
    clock = {"shift": timedelta(0)}
    monkeypatch.setattr(timezone, "now", lambda: real_now() + clock["shift"])

    def slow(args: dict) -> None:
        calls.append(args)
        clock["shift"] = timedelta(seconds=60)  # the first took 60 s of the second's 100 s lease

    work.register("test.kind", slow, max_attempts=3)
    claimed = work.claim_due(limit=10)
    work._run_claimed(claimed)
    assert calls == [{"n": 0}]
    job = Job.objects.get()
    assert (job.key, job.state, job.attempts, job.claim) == ("slow1", "pending", 0, "")


def test_a_wake_up_claims_whatever_is_due_up_to_a_batch_not_only_its_keys(monkeypatch):
    from apps.core import tasks

    for n in range(3):
        work.enqueue("test.kind", key=f"w{n}", args={"n": n})  # not woken: no on_commit here
    monkeypatch.setattr(tasks, "WAKE_BATCH", 2)
    tasks.run_work(["w2"])  # one claim of the two oldest due rows, then it returns
    assert calls == [{"n": 0}, {"n": 1}]
    assert list(Job.objects.values_list("key", flat=True)) == ["w2"]
    tasks.run_due_work()
    assert calls == [{"n": 0}, {"n": 1}, {"n": 2}] and not Job.objects.exists()
