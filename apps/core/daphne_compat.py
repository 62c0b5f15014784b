"""Daphne serves HTTP through Twisted, whose request object parses every ``multipart/form-data``
POST body on its own before Daphne hands the raw body to Django. Daphne never reads that parse,
but when Twisted's parser dislikes a body (a form with no parts, a non-ASCII field name) it
answers a bare ``400`` with no body before Django sees the request: no JSON ``code``, nothing
logged (django/daphne#447). It also holds every upload in memory a second time.

Twisted lets a request skip that parse (``parsePOSTFormSubmission``); Daphne builds its requests
itself, so its request class is told to skip it here, once, when the ASGI application loads.
"""
from __future__ import annotations

import inspect


def leave_form_parsing_to_django() -> bool:
    """Make Daphne's requests skip Twisted's form parsing; False where this Twisted cannot."""
    try:
        from daphne import http_protocol
        from twisted.web import http
    except ImportError:  # served by another ASGI server
        return False
    if "parsePOSTFormSubmission" not in inspect.signature(http.Request.__init__).parameters:
        return False
    request_class = http_protocol.WebRequest
    if getattr(request_class.__init__, "_leaves_forms_to_django", False):
        return True
    original_init = request_class.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original_init(self, *args, **kwargs)

    __init__._leaves_forms_to_django = True  # type: ignore[attr-defined]
    request_class.__init__ = __init__
    return True
