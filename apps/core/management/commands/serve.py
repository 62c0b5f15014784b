"""Serve HTTP and websockets with Daphne, plus the embedded worker when there is no REDIS_URL."""
from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core import inprocess

DEMO_LOGINS = "admin/admin (admin) · supervisor/supervisor · agent1/agent1 · agent2/agent2"


class Command(BaseCommand):
    help = "Serve Instant (HTTP + websockets). Without REDIS_URL, tasks and the deadline sweep run in-process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--banner", action="store_true", help="Print the URLs and the demo logins.")

    def handle(self, *args, host: str, port: int, banner: bool, **options):
        import daphne.server  # noqa: F401  (installs the asyncio reactor before twisted is used)
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from channels.routing import get_default_application
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        # The project's application, named by settings.ASGI_APPLICATION as Django names WSGI's.
        application = get_default_application()

        def started() -> None:
            if settings.INSTANT_TASKS == "inprocess":
                inprocess.start(asyncio.get_event_loop())
            base = f"http://{host}:{port}"
            mode = "in-process worker" if settings.INSTANT_TASKS == "inprocess" else "Celery workers (REDIS_URL)"
            self.stdout.write(f"Instant is up on {base}  [{mode}]")
            if banner:
                self.stdout.write(
                    f"  Agent desktop:      {base}/desktop/\n"
                    f"  Customer simulator: {base}/simulator/\n"
                    f"  Admin:              {base}/admin/\n"
                    f"  API docs:           {base}/api/docs/\n"
                    f"  Demo logins:        {DEMO_LOGINS}\n"
                    "  Press Ctrl-C to stop."
                )
            self.stdout.flush()

        Server(
            application=ASGIStaticFilesHandler(application),
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            http_timeout=None,
            websocket_timeout=86400,
            ready_callable=started,
        ).run()
