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


# Twisted also refuses, before Daphne or Django see it, a request whose request line and headers pass
# 16,384 bytes (``HTTPChannel.totalHeadersSize``) or whose request line it cannot read: a bare
# ``HTTP/1.1 400 Bad Request`` with no body and no content type (found by the fuzzer with a long query
# string; every error under /api/ is JSON with a ``code``). A single line over 16,384 bytes was
# dropped without any answer. Both now get the same 400 as JSON, then the connection closes as before.
BAD_REQUEST = (
    b'{"code": "bad_request", "detail": "The request line or headers could not be read '
    b'(at most 16384 bytes in all)."}'
)
BAD_REQUEST_RESPONSE = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: " + str(len(BAD_REQUEST)).encode() + b"\r\n\r\n" + BAD_REQUEST
)


def answer_unreadable_requests_in_json() -> bool:
    """Make Twisted's own 400 (and its silent close on an over-long line) a JSON 400; False where this
    Twisted has no such answer to replace."""
    try:
        from twisted.web import http
    except ImportError:  # served by another ASGI server
        return False
    channel = http.HTTPChannel
    if not hasattr(channel, "_respondToBadRequestAndDisconnect"):
        return False
    if getattr(channel._respondToBadRequestAndDisconnect, "_json", False):
        return True

    def respond_json_and_disconnect(self):
        self.transport.write(BAD_REQUEST_RESPONSE)
        self.loseConnection()

    def line_length_exceeded(self, line):
        respond_json_and_disconnect(self)

    respond_json_and_disconnect._json = True  # type: ignore[attr-defined]
    channel._respondToBadRequestAndDisconnect = respond_json_and_disconnect
    channel.lineLengthExceeded = line_length_exceeded
    return True
