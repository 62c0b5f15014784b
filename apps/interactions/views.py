"""Plain Django views of interactions (the REST API lives in api/)."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest

from apps.core.media import file_response

from .models import Message

# Providers fetch an agent's attachment from this link when the message is sent (a send that is
# retried signs a fresh link), so it needs to live only as long as a provider may hold a message
# before fetching: Twilio queues one for at most 4 hours. Anyone holding the link can fetch the
# file, so it must not outlive that by days. INSTANT_PUBLIC_MEDIA_MAX_AGE: seconds or a timedelta.
PUBLIC_MEDIA_MAX_AGE_DEFAULT = timedelta(hours=6)


def public_media_max_age() -> timedelta:
    value = getattr(settings, "INSTANT_PUBLIC_MEDIA_MAX_AGE", PUBLIC_MEDIA_MAX_AGE_DEFAULT)
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def public_media(request: HttpRequest, token: str) -> FileResponse:
    try:
        message_id = signing.loads(token, salt="instant.public-media", max_age=public_media_max_age())
    except signing.BadSignature:  # SignatureExpired included
        raise Http404("Unknown or expired media link.") from None
    message = Message.objects.filter(pk=message_id, direction=Message.Direction.OUT).first()
    if message is None or not message.attachment:
        raise Http404("No such media.")
    try:
        handle = message.attachment.open("rb")
    except OSError:
        raise Http404("The file is missing.") from None
    return file_response(handle, content_type=message.attachment_content_type, filename=message.attachment_filename)
