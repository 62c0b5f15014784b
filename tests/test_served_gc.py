"""The web process's garbage-collector tuning (apps.core.asgi_factory, issue 11)."""
from __future__ import annotations

import gc

from apps.core import asgi_factory


def test_the_served_application_freezes_start_up_and_collects_young_objects_less_often():
    threshold = gc.get_threshold()
    try:
        application = asgi_factory.served_application()
        assert application is not None
        assert gc.get_freeze_count() > 1000  # Django, the URL conf and the apps: never walked again
        assert gc.get_threshold()[0] == asgi_factory.GC_THRESHOLD == 50_000
        assert gc.get_threshold()[1:] == threshold[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
