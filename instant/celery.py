import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")

app = Celery("instant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def sweep_once_at_start(sender=None, **kwargs) -> None:
    """CONTRACT: the deadline sweep runs once right after start-up, then on the beat schedule."""
    app.send_task("apps.core.tasks.sweep_deadlines")
    app.send_task("apps.core.tasks.run_due_work")


@worker_process_init.connect
def fresh_connection_pool(**kwargs) -> None:
    """A prefork child must not use a PostgreSQL pool inherited from its parent: its sockets are the
    parent's and its maintenance threads did not survive the fork. Forget it (closing it would close
    the parent's connections too); the child opens its own on first use.
    """
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        pools = getattr(type(connection), "_connection_pools", None)
        if pools is not None:
            pools.pop(connection.alias, None)


@worker_init.connect
def realtime_publisher(**kwargs) -> None:
    """Worker threads have no event loop of their own: publish through one long-lived loop (pooled)."""
    from apps.core.realtime import publisher

    publisher.start()


@worker_process_init.connect
def realtime_publisher_in_child(**kwargs) -> None:
    # A prefork child inherits no running thread: it starts its own publisher loop.
    from apps.core.realtime import publisher

    publisher.loop = None
    publisher.start()
