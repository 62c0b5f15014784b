"""The agent desktop page: one HTML shell whose bootstrap JSON lets the script start without a round trip.

Everything live (offers, messages, transfers) then comes over ``/ws/desktop/`` and the REST API.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache


def _queues_for(user):
    from apps.queues.models import Queue

    queues = Queue.objects.all() if user.is_supervisor_or_admin else user.queues.all()
    return queues.order_by("name").prefetch_related("dispositions", "canned_answers")


def _queue_stats(queue_id: int) -> dict[str, int]:
    from apps.interactions.services import queue_stats

    return queue_stats(queue_id)


def desktop_bootstrap(user) -> dict:
    """What the desktop needs before its first websocket message: who, what is allowed, which queues."""
    from apps.core.models import InstallationSettings

    config = InstallationSettings.load()
    queues = []
    for queue in _queues_for(user):
        queues.append(
            {
                "id": queue.pk,
                "name": queue.name,
                "dispositions": [{"id": d.pk, "name": d.name} for d in queue.dispositions.all()],
                "canned_answers": [{"id": c.pk, "title": c.title, "text": c.text} for c in queue.canned_answers.all()],
                **_queue_stats(queue.pk),
            }
        )
    return {
        "user": {
            "id": user.pk,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
            "presence": user.presence,
            "is_supervisor": user.is_supervisor_or_admin,
        },
        "settings": {
            "transfers": config.transfers,
            "transfer_timeout": config.transfer_timeout,
            "attachments_enabled": config.attachments_enabled,
            "attachment_max_bytes": config.attachment_max_bytes,
        },
        "queues": queues,
        "ws_url": "/ws/desktop/",
        "api_base": "/api/v1/",
        # Lets the page correct countdowns for a client clock that runs fast or slow.
        "server_time": timezone.now().isoformat(),
    }


@never_cache
@login_required
def desktop(request: HttpRequest) -> HttpResponse:
    get_token(request)  # the script reads the csrftoken cookie for its POSTs
    return render(request, "desktop/desktop.html", {"bootstrap": desktop_bootstrap(request.user)})
