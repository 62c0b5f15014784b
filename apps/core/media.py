"""Serving stored files (attachments, provider media links, the simulator's media) without letting
one run as a page of our origin.

Customers and agents upload anything, and an ``.html`` or ``.svg`` opened inline would run its
script with the viewer's session (an admin's, say). So a file is shown inline only when its stored
content type is one a browser renders as inert media; everything else is a download. Every
response also forbids sniffing (the browser keeps to the declared type) and carries
``Content-Security-Policy: sandbox``, so even a file a browser does render gets an opaque origin,
no script and no cookies.
"""
from __future__ import annotations

import re
from typing import IO

from django.http import FileResponse

INLINE_SAFE_PREFIXES = ("image/", "audio/", "video/")
INLINE_SAFE_TYPES = frozenset({"application/pdf"})
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def media_type(content_type: str | None) -> str:
    """``"Image/PNG; charset=x"`` -> ``"image/png"``; empty for a missing or malformed type."""
    main = (content_type or "").split(";", 1)[0].strip().lower()
    return main if _MEDIA_TYPE.match(main) else ""


def is_inline_safe(content_type: str | None) -> bool:
    """Raster images, audio, video and PDF; never SVG or anything XML (they can carry script)."""
    main = media_type(content_type)
    if main in INLINE_SAFE_TYPES:
        return True
    if not main.startswith(INLINE_SAFE_PREFIXES):
        return False
    subtype = main.partition("/")[2]
    return bool(subtype) and "svg" not in subtype and "xml" not in subtype


def file_response(
    handle: IO[bytes], *, content_type: str | None, filename: str | None, inline: bool = True
) -> FileResponse:
    """A download of a stored file; inline only if asked for and its stored type is inline-safe."""
    declared = media_type(content_type) or "application/octet-stream"
    as_attachment = not (inline and is_inline_safe(declared))
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=filename or "",
        # The bare media type: a stored type comes from an upload or a provider, never trusted as a header.
        content_type=declared,
    )
    if not response.has_header("Content-Disposition"):
        # FileResponse omits the header when it has no file name to give.
        response["Content-Disposition"] = "attachment" if as_attachment else "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
