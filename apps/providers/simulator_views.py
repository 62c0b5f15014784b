"""The customer simulator (PRODUCT C1): a page where a signed-in user plays a Sandbox customer.

Who: the simulator shows every simulated customer of an account and speaks as any of them, so it is
for administrators and for the users an admin allows (the "Can view sandbox message" permission,
given to a user or a group in the admin). ``INSTANT_SIMULATOR=false`` turns it off altogether
(404 for the page, its API and its socket); ``make run``'s demo keeps it on.

Views stay thin: the page embeds the Sandbox accounts, and the JSON endpoints hand the customer's
actions to the Sandbox cloud's services (``customer_send``, ``customer_ack``), which post real
signed webhooks to Instant, so the simulator drives the same path as a real provider.
"""
from __future__ import annotations

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import WhatsAppAccount
from apps.core.api_views import is_admin
from apps.core.phones import normalize_phone

from . import sandbox_cloud
from .models import SandboxMessage

DEFAULT_PHONE = "+15551234567"
# A customer's phone, not an agent's desktop: keep uploads bounded even though WhatsApp allows
# up to 100 MB documents, so a mistaken drag-and-drop cannot fill the disk.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024


SIMULATOR_PERMISSION = "providers.view_sandboxmessage"


def simulator_enabled() -> bool:
    return bool(getattr(settings, "INSTANT_SIMULATOR", True))


def simulator_allowed(user) -> bool:
    """Admins, and users an admin gave the simulator's permission (directly or through a group)."""
    if not simulator_enabled() or user is None or not user.is_authenticated or not user.is_active:
        return False
    return is_admin(user) or user.has_perm(SIMULATOR_PERMISSION)


def _error(code: str, detail: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail}, status=status)


def _api(view):
    """JSON endpoints answer 401/404 in JSON rather than redirecting to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, account_id: int, *args, **kwargs):
        if not simulator_enabled():
            return _error("not_found", "The simulator is turned off (INSTANT_SIMULATOR).", status=404)
        if not request.user.is_authenticated:
            return _error("not_authenticated", "Sign in to use the simulator.", status=401)
        if not simulator_allowed(request.user):
            return _error("simulator_not_allowed", "The simulator is for administrators and users they allow.", status=403)
        account = WhatsAppAccount.objects.filter(pk=account_id, provider=WhatsAppAccount.Provider.SANDBOX).first()
        if account is None:
            return _error("not_found", "No such Sandbox account.", status=404)
        return view(request, account, *args, **kwargs)

    return wrapper


def _sandbox_accounts() -> list[dict]:
    return list(
        WhatsAppAccount.objects.filter(provider=WhatsAppAccount.Provider.SANDBOX)
        .order_by("name", "id")
        .values("id", "name", "phone_number")
    )


@login_required
@ensure_csrf_cookie
@require_GET
def simulator_page(request: HttpRequest) -> HttpResponse:
    if not simulator_enabled():
        raise Http404("The simulator is turned off.")
    if not simulator_allowed(request.user):
        return render(request, "simulator/not_allowed.html", status=403)
    return render(
        request,
        "simulator/simulator.html",
        {"accounts": _sandbox_accounts(), "default_phone": DEFAULT_PHONE},
    )


@require_GET
@_api
def messages(request: HttpRequest, account: WhatsAppAccount) -> JsonResponse:
    """The conversation as that customer's phone holds it, oldest first."""
    try:
        phone = normalize_phone(request.GET.get("phone", ""))
    except ValueError as exc:
        return _error("invalid_phone", str(exc))
    rows = SandboxMessage.objects.filter(account=account, customer_phone=phone).order_by("created_at", "id")
    return JsonResponse({"phone": phone, "results": [sandbox_cloud.sandbox_message_json(m) for m in rows]})


@require_POST
@_api
def send(request: HttpRequest, account: WhatsAppAccount) -> JsonResponse:
    upload = request.FILES.get("file")
    if upload is not None and upload.size > MAX_UPLOAD_BYTES:
        return _error("too_large", f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        phone = normalize_phone(request.POST.get("phone", ""))
    except ValueError as exc:
        return _error("invalid_phone", str(exc))
    text = request.POST.get("text", "")
    if not text.strip() and upload is None:
        return _error("empty", "Write something or attach a file.")
    try:
        message = sandbox_cloud.customer_send(
            account=account, phone=phone, name=request.POST.get("name", "").strip(), text=text, upload=upload
        )
    except ValueError as exc:
        return _error("invalid", str(exc))
    return JsonResponse(sandbox_cloud.sandbox_message_json(message), status=201)


@require_POST
@_api
def ack(request: HttpRequest, account: WhatsAppAccount) -> JsonResponse:
    """The customer's phone received (``delivered``) or opened (``read``) an agent's message."""
    try:
        body = json.loads(request.body or b"{}")
        message_id = str(body["message_id"])
        status = str(body.get("status") or "")
    except (ValueError, KeyError, TypeError):
        return _error("invalid", 'Send JSON {"message_id": ..., "status": "delivered" | "read"}.')
    if status not in ("delivered", "read"):
        return _error("invalid_status", "status must be delivered or read.")
    try:
        message = sandbox_cloud.customer_ack(account=account, message_id=message_id, status=status)
    except SandboxMessage.DoesNotExist:
        return _error("not_found", "No such message to this customer.", status=404)
    return JsonResponse(sandbox_cloud.sandbox_message_json(message))
