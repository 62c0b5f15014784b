"""ASGI entry point: HTTP through Django, websockets through Channels (session auth)."""
from __future__ import annotations

import asyncio
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instant.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application() does

from apps.core.http_handler import SyncChainASGIHandler  # noqa: E402

# Django's ASGIHandler, with the sync middleware chain run in one thread hop (apps/core/http_handler.py).
django_asgi_app = SyncChainASGIHandler()

# Malformed multipart bodies reach Django (a JSON 400) instead of Twisted's bare 400, and what Twisted
# itself cannot read (headers over 16 KiB) gets a JSON 400 too.
from apps.core.daphne_compat import answer_unreadable_requests_in_json, leave_form_parsing_to_django  # noqa: E402

leave_form_parsing_to_django()
answer_unreadable_requests_in_json()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from django.conf import settings  # noqa: E402

from apps.core import inprocess  # noqa: E402
from apps.desktop.consumers import FRAME_SEND  # noqa: E402

from .routing import websocket_urlpatterns  # noqa: E402

_router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    """Bind the embedded worker to this server's loop on first contact (no REDIS_URL only)."""
    if settings.INSTANT_TASKS == "inprocess":
        if not inprocess.is_running():
            inprocess.start(asyncio.get_running_loop())
    if scope["type"] == "lifespan":  # daphne sends none; other servers may
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        # The server's own send, for the desktop consumers' event frames (apps.desktop.consumers:
        # Channels' session middleware wraps send to save sessions on HTTP responses, and on a frame
        # it only reads the session's state, about a twentieth of a fan-out's CPU at 2,000 sockets).
        scope = {**scope, FRAME_SEND: send}
    return await _router(scope, receive, send)

