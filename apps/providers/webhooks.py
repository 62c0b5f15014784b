"""The one webhook view every provider posts to: verify, store once, process after commit, answer fast."""
from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.accounts.models import WhatsAppAccount

from .base import CaseInsensitiveDict, WebhookRequest
from .services import webhook_event_store
from .types import SignatureError

log = logging.getLogger(__name__)


def webhook_request_from(request: HttpRequest, account: WhatsAppAccount) -> WebhookRequest:
    headers = CaseInsensitiveDict({k: v for k, v in request.headers.items() if k.lower() != "cookie"})
    body = request.body  # raw bytes: Meta and Sinch sign them exactly as sent
    raw_query = request.META.get("QUERY_STRING", "")
    query = parse_qsl(raw_query, keep_blank_values=True)
    # Twilio signs the URL it was given, so rebuild it from PUBLIC_BASE_URL, never from the
    # Host header a TLS-terminating proxy may have rewritten.
    url = account.webhook_url + (f"?{raw_query}" if raw_query else "")
    wreq = WebhookRequest(method=request.method or "POST", url=url, headers=headers, body=body, query=query)
    if wreq.content_type == "application/x-www-form-urlencoded":
        # Pairs, not a dict: Twilio may repeat a parameter and signs every value.
        wreq.form = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return wreq


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, token: str) -> HttpResponse:
    account = WhatsAppAccount.objects.filter(webhook_token=token, is_active=True).first()
    if account is None:
        return JsonResponse({"code": "unknown_webhook", "detail": "No active account has this webhook URL."}, status=404)
    backend = account.backend()
    wreq = webhook_request_from(request, account)
    reply = backend.handshake(wreq)
    if reply is not None:
        return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    try:
        backend.verify(wreq)
    except SignatureError as exc:
        log.warning("webhook for account %s refused: %s", account.pk, exc)
        return JsonResponse({"code": "bad_signature", "detail": str(exc) or "Bad or missing signature."}, status=403)
    webhook_event_store(account=account, request=wreq, event_key=backend.event_id(wreq))
    ack = backend.ack(wreq)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
