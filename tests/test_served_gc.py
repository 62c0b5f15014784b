"""The web process's garbage-collector tuning (apps.core.asgi_factory, issue 11)."""
from __future__ import annotations

import gc

from apps.core import asgi_factory, gc_tuning


def test_the_served_application_freezes_start_up_and_collects_young_objects_less_often():
    threshold = gc.get_threshold()
    try:
        application = asgi_factory.served_application()
        assert application is not None
        assert gc.get_freeze_count() > 1000  # Django, the URL conf and the apps: never walked again
        assert gc.get_threshold()[0] == gc_tuning.GC_THRESHOLD == 50_000
        assert gc.get_threshold()[1:] == threshold[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_a_celery_worker_and_its_children_tune_it_too():
    from celery.signals import worker_init, worker_process_init

    from instant import celery

    assert celery.tuned_gc in [r() for _, r in worker_init.receivers]
    assert celery.tuned_gc in [r() for _, r in worker_process_init.receivers]
    threshold = gc.get_threshold()
    try:
        celery.tuned_gc()
        assert gc.get_freeze_count() > 1000 and gc.get_threshold()[0] == 50_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
