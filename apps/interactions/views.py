"""Plain Django views of interactions (the REST API lives in api/)."""
from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.http import FileResponse, Http404, HttpRequest

from .models import Message

# Providers fetch an agent's attachment from this link; it stops working after a week.
PUBLIC_MEDIA_MAX_AGE = timedelta(days=7)


def public_media(request: HttpRequest, token: str) -> FileResponse:
    try:
        message_id = signing.loads(token, salt="instant.public-media", max_age=PUBLIC_MEDIA_MAX_AGE)
    except signing.BadSignature:
        raise Http404("Unknown or expired media link.") from None
    message = Message.objects.filter(pk=message_id, direction=Message.Direction.OUT).first()
    if message is None or not message.attachment:
        raise Http404("No such media.")
    return FileResponse(
        message.attachment.open("rb"),
        content_type=message.attachment_content_type or "application/octet-stream",
        filename=message.attachment_filename or None,
    )
