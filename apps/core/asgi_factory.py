"""The application ``manage.py serve`` runs: the project's (settings.ASGI_APPLICATION) with static files.

A factory that uvicorn imports by path, so each of its worker processes (``--workers``) builds its
own; Django is set up first, since a fresh worker process has not done it yet. Once it is built, the
garbage collector is tuned for a process that holds thousands of sockets (apps.core.gc_tuning).
"""
from __future__ import annotations


def served_application():
    import django

    django.setup(set_prefix=False)
    # After setup: both import models and settings.
    from channels.routing import get_default_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from apps.core.gc_tuning import tune_gc

    application = ASGIStaticFilesHandler(get_default_application())
    tune_gc()
    return application
