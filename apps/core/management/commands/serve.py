"""Serve HTTP and websockets (Daphne or uvicorn), plus the embedded worker when there is no REDIS_URL.

Daphne is the default (``make run``). ``--server uvicorn`` (or ``INSTANT_SERVER=uvicorn``) serves the
same ASGI application with uvicorn on uvloop and httptools, which the README's "Scaling out" runs:
bench/load_webhooks.py and bench/sockets.py measured it faster on the same code. ``--workers N``
(uvicorn only) forks N processes sharing the port; each has its own pools.
"""
from __future__ import annotations

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import inprocess
from apps.core.asgi_factory import served_application

DEMO_LOGINS = "admin/admin (admin) · supervisor/supervisor · agent1/agent1 · agent2/agent2"
SERVERS = ("daphne", "uvicorn")


class Command(BaseCommand):
    help = "Serve Instant (HTTP + websockets). Without REDIS_URL, tasks and the deadline sweep run in-process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=settings.INSTANT_SERVER,
            help="daphne (default, INSTANT_SERVER) or uvicorn (uvloop + httptools; the scaled set-up).",
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="uvicorn only: processes sharing the port (needs REDIS_URL above 1)."
        )
        parser.add_argument("--banner", action="store_true", help="Print the URLs and the demo logins.")

    def handle(self, *args, host: str, port: int, server: str, workers: int, banner: bool, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if workers > 1 and server != "uvicorn":
            raise CommandError("--workers needs --server uvicorn; run one Daphne per port instead")
        if workers > 1 and settings.INSTANT_TASKS == "inprocess":
            # The embedded worker assumes it is the only runner (it takes back every running job at start).
            raise CommandError("--workers above 1 needs REDIS_URL (Celery runs the work, not the web processes)")

        def started() -> None:
            if settings.INSTANT_TASKS == "inprocess":
                inprocess.start(asyncio.get_event_loop())
            base = f"http://{host}:{port}"
            mode = "in-process worker" if settings.INSTANT_TASKS == "inprocess" else "Celery workers (REDIS_URL)"
            self.stdout.write(f"Instant is up on {base}  [{server}, {mode}]")
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

        if server == "uvicorn":
            self._uvicorn(host, port, workers, started)
        else:
            self._daphne(host, port, started)

    def _daphne(self, host: str, port: int, started) -> None:
        import daphne.server  # noqa: F401  (installs the asyncio reactor before twisted is used)
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server

        Server(
            application=served_application(),
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            http_timeout=None,
            websocket_timeout=86400,
            ready_callable=started,
        ).run()

    def _uvicorn(self, host: str, port: int, workers: int, started) -> None:
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(
            # An import path, so that each of uvicorn's worker processes builds its own application.
            "apps.core.asgi_factory:served_application",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            # Desktop events are small JSON; permessage-deflate would keep two zlib streams (hundreds of
            # KiB) per socket, most of a socket's memory at 2,000 desktops.
            ws_per_message_deflate=False,
            # Django reads X-Forwarded-Proto itself (BEHIND_HTTPS_PROXY), as under Daphne.
            proxy_headers=False,
            # Django's LOGGING stays in charge; an access line per webhook would cost about what its ack does.
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            # instant/asgi.py answers the lifespan events; the embedded worker starts on the first.
            lifespan="on",
        )
        if workers > 1:
            sock = config.bind_socket()
            self.stdout.write(f"Instant is up on http://{host}:{port}  [uvicorn × {workers}, Celery workers (REDIS_URL)]")
            self.stdout.flush()
            Multiprocess(config, sockets=[sock]).run()
            return
        server = uvicorn.Server(config)

        async def serve() -> None:
            # Announce once the socket listens, as Daphne's ready_callable does.
            task = asyncio.ensure_future(server.serve())
            while not server.started and not task.done():
                await asyncio.sleep(0.05)
            if server.started:
                started()
            await task

        loop_factory = config.get_loop_factory()
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve())
