"""Celery workers keep their database connection between tasks (one PostgreSQL session per process,
not one per task) and drop it as soon as it goes bad."""
from __future__ import annotations

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from instant.celery import app, keep_connection_healthy


def test_celerys_django_fixup_does_not_close_connections_after_every_task(monkeypatch):
    fixup = DjangoWorkerFixup(app)
    assert fixup.db_reuse_max  # without it, every task closes the connection (and under prefork the pool)
    closed = []
    monkeypatch.setattr(fixup, "_close_database", lambda: closed.append(1))
    for _ in range(10):
        fixup.on_task_prerun(sender=type("T", (), {"request": type("R", (), {"is_eager": False})()})())
    assert closed == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_connection_is_dropped_after_the_task_and_a_healthy_one_kept(monkeypatch):
    connection.ensure_connection()
    kept = connection.connection
    keep_connection_healthy()
    assert connection.connection is kept

    connection.errors_occurred = True
    monkeypatch.setattr(connection, "is_usable", lambda: False)
    keep_connection_healthy()
    assert connection.connection is None
