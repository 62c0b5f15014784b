"""The Sandbox cloud's provider API: where the Sandbox backend sends agents' messages, over HTTP.

Like a real provider's API it authenticates the caller (the same HMAC the cloud's webhooks carry,
under the account's unguessable webhook token), answers ``{"id": ...}``, and reports a refusal
as ``{"error": {"code", "message"}}`` with a 4xx, which the backend maps like any provider error.
"""
from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.models import WhatsAppAccount

from . import sandbox, sandbox_cloud
from .base import constant_time_equals
from .types import ProviderError


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}, "code": code}, status=status)


@csrf_exempt
@require_POST
def send(request: HttpRequest, token: str) -> JsonResponse:
    account = WhatsAppAccount.objects.filter(webhook_token=token, provider=WhatsAppAccount.Provider.SANDBOX).first()
    if account is None:
        return _error("not_found", "No such Sandbox account.", 404)
    given = request.headers.get(sandbox.SIGNATURE_HEADER) or ""
    if not given or not constant_time_equals(given, sandbox.sign(account.webhook_url, request.body)):
        return _error("bad_signature", "The request is not signed for this account.", 403)
    try:
        payload = json.loads(request.body)
        if not isinstance(payload, dict) or not payload.get("to"):
            raise ValueError("a message needs 'to'")
    except ValueError as exc:
        return _error("invalid_payload", f"Not a Sandbox message: {exc}", 400)
    try:
        message_id = sandbox_cloud.deliver_to_customer(account_id=account.pk, payload=payload)
    except ProviderError as exc:
        return _error(str(exc.code), exc.message, 400)
    return JsonResponse({"id": message_id})
