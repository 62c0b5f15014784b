"""Django's ASGI handler, with the sync middleware and views run in one thread hop per request, on a
thread kept for the next request.

Under ASGI, Django adapts every synchronous middleware on its own: each ``process_request`` and
``process_response`` is a separate ``sync_to_async`` call, then the view is another (Django's docs,
"Asynchronous support": a context switch of about a millisecond each). With our seven sync middleware
that was about a dozen hops per request, and py-spy put a third of a webhook's CPU in them (thread
hand-offs and asgiref's context copies). All of Instant's middleware and views are synchronous, so this
handler builds the middleware chain in sync mode, as under WSGI, and runs it whole in one
``sync_to_async`` call, in the request's thread as Django would (``thread_sensitive``). Reading the
body, the signals and sending the response stay Django's own.

Django also gives every request a new thread of its own (``ThreadSensitiveContext()`` makes a fresh
one-thread executor per request), and starting it was about 7 % of the web process's CPU under
webhook load (py-spy, issue 11). asgiref lets the caller own that executor
(``ThreadSensitiveContext(executor=...)``), so this handler keeps the one-thread executors of finished
requests and hands them to the next ones: a request still has a thread to itself for all its sync
work, as Django wants, without starting one.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler

# Idle request threads kept for reuse; a burst beyond this gets new ones, stopped when it is over.
KEPT_THREADS = 64


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        # Touched only from the event loop's thread (``__call__``), so no lock.
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="instant-request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            # A request cancelled while its sync code runs leaves that code running on the thread:
            # the next request given this executor waits for it, never runs beside it.
            if len(self._idle) < KEPT_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
