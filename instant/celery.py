import os

from celery import Celery
from celery.signals import beat_init, task_postrun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")

app = Celery("instant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fix-up closes every database connection before and after each task, and under
# prefork it closes the whole psycopg pool with them: every task opened a new PostgreSQL session
# (3,279 sessions to process 2,000 webhooks, most of the worker's CPU). With this, it closes them only
# every 2 × 1,000 tasks; ``keep_connection_healthy`` below drops a connection that went bad at once.
app.conf["CELERY_DB_REUSE_MAX"] = 1000


@task_postrun.connect
def keep_connection_healthy(**kwargs) -> None:
    """What Django does at the end of a request, minus closing for age: a connection left in a
    transaction or broken by an error is closed (given back to the pool) before the next task."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        if connection.in_atomic_block or connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
            connection.close()
        elif connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


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
@worker_process_init.connect
def tuned_gc(**kwargs) -> None:
    """The main process (it hands tasks to the pool) and each child, once started, freeze start-up and
    collect young objects every 50,000 allocations (apps.core.gc_tuning). A child does it again:
    gc.freeze() is per process."""
    from apps.core.gc_tuning import tune_gc

    tune_gc()


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
