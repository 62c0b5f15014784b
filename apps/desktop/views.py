"""The agent desktop page: one HTML shell whose bootstrap JSON lets the script start without a round trip.

Everything live (offers, messages, transfers) then comes over ``/ws/desktop/`` and the REST API.
The bootstrap also carries the rules the server enforces (status order, text limit), so the page
never keeps its own copy of them.
"""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.accounts.models import WhatsAppAccount
from apps.core.models import InstallationSettings
from apps.interactions.models import STATUS_RANK, TEXT_MAX_LENGTH
from apps.interactions.services import queue_stats
from apps.queues.models import Queue


def _queues_for(user):
    queues = Queue.objects.all() if user.is_supervisor_or_admin else user.queues.all()
    return queues.order_by("name").prefetch_related("dispositions", "canned_answers")


def _accounts_for(user) -> list[dict]:
    accounts = WhatsAppAccount.objects.order_by("name")
    if not user.is_supervisor_or_admin:
        accounts = accounts.filter(queue__in=user.queues.all())
    return [{"id": a.pk, "name": a.name} for a in accounts.only("pk", "name")]


def desktop_bootstrap(user) -> dict:
    """What the desktop needs before its first websocket message: who, what is allowed, which queues."""
    config = InstallationSettings.load()
    queues = []
    for queue in _queues_for(user):
        queues.append(
            {
                "id": queue.pk,
                "name": queue.name,
                "dispositions": [{"id": d.pk, "name": d.name} for d in queue.dispositions.all()],
                "canned_answers": [{"id": c.pk, "title": c.title, "text": c.text} for c in queue.canned_answers.all()],
                **queue_stats(queue.pk),
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
            "can_download_transcripts": user.can_download_transcripts,
        },
        "settings": {
            "transfers": config.transfers,
            "transfer_timeout": config.transfer_timeout,
            "attachments_enabled": config.attachments_enabled,
            "attachment_max_bytes": config.attachment_max_bytes,
        },
        "rules": {
            # A message's status only moves up this rank on the server, so the page keeps the
            # higher of a REST snapshot and a live status, whichever arrives last.
            "message_status_rank": dict(STATUS_RANK),
            "text_max_length": TEXT_MAX_LENGTH,
        },
        "queues": queues,
        # D10's account filter: the accounts API is the administrators' (it holds credentials).
        "accounts": _accounts_for(user),
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
