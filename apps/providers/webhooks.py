"""The one webhook view every provider posts to: verify, store once, process after commit, answer fast."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.accounts.models import WhatsAppAccount

from .base import CaseInsensitiveDict, ProviderBackend, WebhookRequest
from .services import webhook_event_store
from .types import SignatureError

log = logging.getLogger(__name__)

# ----- the account behind a webhook URL, cached per process ---------------------------------------
# Providers post every message, status and read receipt to the same few URLs, so reading the account
# for each one would be most of an acknowledgement's database work. Each process keeps the accounts it
# has served for INSTANT_WEBHOOK_ACCOUNT_CACHE_SECONDS. A save or delete in this process forgets them
# at once (the receivers below: cache upkeep, not domain logic); another process's edit is seen when
# the entry expires, and sooner for credentials: a signature that fails against a cached account is
# checked once more against the database, so a rotated secret never refuses a good webhook.
@dataclass(frozen=True)
class ServedAccount:
    account: WhatsAppAccount
    # Built once per entry (building one reverses the webhook URL): handshake, verify, event_id and
    # ack keep no state on the backend, so threads share it.
    backend: ProviderBackend


_accounts: dict[str, tuple[float, ServedAccount]] = {}
_accounts_lock = threading.Lock()


def webhook_account(token: str, *, fresh: bool = False) -> ServedAccount | None:
    """The active account whose webhook URL ends in ``token`` (unknown tokens are never cached)."""
    now = time.monotonic()
    if not fresh:
        hit = _accounts.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
    account = WhatsAppAccount.objects.filter(webhook_token=token, is_active=True).first()
    served = ServedAccount(account, account.backend()) if account is not None else None
    with _accounts_lock:
        if served is None:
            _accounts.pop(token, None)
        elif settings.INSTANT_WEBHOOK_ACCOUNT_CACHE_SECONDS > 0:
            _accounts[token] = (now + settings.INSTANT_WEBHOOK_ACCOUNT_CACHE_SECONDS, served)
    return served


def forget_webhook_accounts(**kwargs) -> None:
    with _accounts_lock:
        _accounts.clear()


post_save.connect(forget_webhook_accounts, sender=WhatsAppAccount, dispatch_uid="providers.webhook_account_cache")
post_delete.connect(forget_webhook_accounts, sender=WhatsAppAccount, dispatch_uid="providers.webhook_account_cache")


def webhook_request_from(request: HttpRequest, webhook_url: str) -> WebhookRequest:
    headers = CaseInsensitiveDict({k: v for k, v in request.headers.items() if k.lower() != "cookie"})
    body = request.body  # raw bytes: Meta and Sinch sign them exactly as sent
    raw_query = request.META.get("QUERY_STRING", "")
    query = parse_qsl(raw_query, keep_blank_values=True)
    # Twilio signs the URL it was given, so rebuild it from PUBLIC_BASE_URL, never from the
    # Host header a TLS-terminating proxy may have rewritten.
    url = webhook_url + (f"?{raw_query}" if raw_query else "")
    wreq = WebhookRequest(method=request.method or "POST", url=url, headers=headers, body=body, query=query)
    if wreq.content_type == "application/x-www-form-urlencoded":
        # Pairs, not a dict: Twilio may repeat a parameter and signs every value.
        wreq.form = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return wreq


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest, token: str) -> HttpResponse:
    # A GET is a provider's rare verification handshake: it gets the account as stored right now.
    served = webhook_account(token, fresh=request.method == "GET")
    if served is None:
        return _unknown()
    backend = served.backend
    wreq = webhook_request_from(request, backend.account.webhook_url)
    reply = backend.handshake(wreq)
    if reply is not None:
        return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    try:
        backend.verify(wreq)
    except SignatureError:
        # The cached account may predate a change of secret made through another process.
        served = webhook_account(token, fresh=True)
        if served is None:
            return _unknown()
        backend = served.backend
        wreq = webhook_request_from(request, backend.account.webhook_url)
        try:
            backend.verify(wreq)
        except SignatureError as exc:
            log.warning("webhook for account %s refused: %s", served.account.pk, exc)
            return JsonResponse({"code": "bad_signature", "detail": str(exc) or "Bad or missing signature."}, status=403)
    webhook_event_store(account=served.account, request=wreq, event_key=backend.event_id(wreq))
    ack = backend.ack(wreq)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)


def _unknown() -> JsonResponse:
    return JsonResponse({"code": "unknown_webhook", "detail": "No active account has this webhook URL."}, status=404)
