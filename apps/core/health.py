"""``GET /healthz/`` (CONTRACT.md "Health"): is this process able to serve?

Load balancers and orchestrators call it every few seconds, so it is cheap (one ``SELECT 1``, one
Redis ``PING`` with a short timeout), needs no login, and never touches the session: it reads no
``request.user`` and sets no cookie.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# A probe that hangs is worse than one that fails: orchestrators time out at a few seconds.
REDIS_TIMEOUT_SECONDS = 1.0

OK = "ok"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not_configured"


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # One line, not a traceback: a probe every few seconds would flood the log during an outage.
        logger.warning("healthz: the database does not answer: %r", exc)
        return UNAVAILABLE
    return OK


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    # One client (and its connection pool) per URL, so probes reuse a connection.
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def redis_status() -> str:
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return NOT_CONFIGURED
    try:
        _redis_client(url).ping()
    except Exception as exc:
        logger.warning("healthz: Redis does not answer: %r", exc)
        return UNAVAILABLE
    return OK


@csrf_exempt
@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_status(), "redis": redis_status()}
    healthy = all(value in (OK, NOT_CONFIGURED) for value in checks.values())
    return JsonResponse({"status": OK if healthy else UNAVAILABLE, "checks": checks}, status=200 if healthy else 503)
