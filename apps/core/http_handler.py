"""Django's ASGI handler, with the sync middleware and views run in one thread hop per request.

Under ASGI, Django adapts every synchronous middleware on its own: each ``process_request`` and
``process_response`` is a separate ``sync_to_async`` call, then the view is another (Django's docs,
"Asynchronous support": a context switch of about a millisecond each). With our seven sync middleware
that was about a dozen hops per request, and py-spy put a third of a webhook's CPU in them (thread
hand-offs and asgiref's context copies). All of Instant's middleware and views are synchronous, so this
handler builds the middleware chain in sync mode, as under WSGI, and runs it whole in one
``sync_to_async`` call, in the request's thread as Django would (``thread_sensitive``). Reading the
body, the signals and sending the response stay Django's own.
"""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
