"""The application ``manage.py serve`` runs: the project's (settings.ASGI_APPLICATION) with static files.

A factory that uvicorn imports by path, so each of its worker processes (``--workers``) builds its
own; Django is set up first, since a fresh worker process has not done it yet.
"""
from __future__ import annotations

import gc
import os

# The web process's garbage collector (issue 11). With 2,000 desktop sockets the process tracks about
# 470,000 objects (some 210 per socket), and CPython's full collection walks them all: py-spy and a
# gc callback showed 100-320 ms pauses, every few fan-outs, during which no socket got a frame and no
# request was answered (bench/sockets.py's slow rounds). Two standard tunings, no library does them:
# - what start-up built (Django, the URL conf, the apps) is frozen: never scanned again;
# - the first generation collects after 50,000 allocations instead of 700. A fan-out to 2,000 sockets
#   allocates tens of thousands of short-lived objects (frames, futures); at 700 many were still in
#   flight at each collection, survived into the old generation and soon made it big enough to be
#   walked whole. Cyclic garbage waits a little longer; memory per socket does not change.
# INSTANT_GC_THRESHOLD=700 restores CPython's default.
GC_THRESHOLD = int(os.environ.get("INSTANT_GC_THRESHOLD") or 50_000)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)


def served_application():
    import django

    django.setup(set_prefix=False)
    # After setup: both import models and settings.
    from channels.routing import get_default_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(get_default_application())
    tune_gc()
    return application
