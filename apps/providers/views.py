"""Plain views of the providers app: the Sandbox cloud's media links."""
from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest

from apps.core.media import file_response

from .models import SandboxMessage


def sandbox_media(request: HttpRequest, token) -> FileResponse:
    """A file the simulated customer sent; like a provider's media URL, unguessable and public."""
    message = SandboxMessage.objects.filter(media_token=token).first()
    if message is None or not message.media:
        raise Http404("No such media.")
    try:
        handle = message.media.open("rb")
    except OSError:
        raise Http404("The file is missing.") from None
    return file_response(handle, content_type=message.content_type, filename=message.filename)
