"""The rate: a token bucket shared by every worker (Redis when there is one, a database row otherwise)."""
from __future__ import annotations

import threading
import time
from datetime import datetime


from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone


from ..selectors import rate_of
from ..models import Campaign, TokenBucket
from .common import log


def effective_throttle(campaign: Campaign, now: datetime) -> float:
    """After a 429 the rate is cut, then recovers linearly over a minute."""
    if campaign.throttle >= 1 or campaign.throttled_at is None:
        return 1.0
    recovered = (now - campaign.throttled_at).total_seconds() / 60
    return min(1.0, campaign.throttle + recovered)


def slow_down(campaign: Campaign) -> None:
    now = timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        current = effective_throttle(locked, now)
        locked.throttle = max(0.05, current / 2)
        locked.throttled_at = now
        locked.save(update_fields=["throttle", "throttled_at"])
    log.warning("campaign %s: the provider is throttling, rate now x%.2f", campaign.pk, locked.throttle)


def take_tokens(campaign: Campaign, want: int, now: datetime) -> tuple[int, float]:
    """Up to ``want`` sends allowed now, from the bucket every worker shares, and, when none is,
    the seconds until the next token. ``campaign`` is read afresh by the caller (rate, throttle)."""
    rate = rate_of(campaign) * effective_throttle(campaign, now)
    # A quarter of a second of burst: enough to absorb the pump's step jitter (a step that took
    # longer finds its tokens waiting), too little to exceed the provider's per-second limit.
    capacity = max(1.0, rate / 4)
    key = f"campaign:{campaign.pk}"
    if settings.REDIS_URL:
        return _redis_take(key, rate, capacity, want)
    return _db_take(key, rate, capacity, want)


def _db_take(key: str, rate: float, capacity: float, want: int) -> tuple[int, float]:
    with transaction.atomic():
        bucket = TokenBucket.objects.select_for_update().filter(key=key).first()
        clock = time.time()
        if bucket is None:
            try:
                with transaction.atomic():
                    TokenBucket.objects.create(key=key, tokens=capacity, updated=clock)
            except IntegrityError:
                pass
            bucket = TokenBucket.objects.select_for_update().get(key=key)
        tokens = min(capacity, bucket.tokens + max(0.0, clock - bucket.updated) * rate)
        granted = max(0, min(want, int(tokens)))
        tokens -= granted
        TokenBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated=clock)
        return granted, 0.0 if granted else (1 - tokens) / rate


_TAKE_SCRIPT = """
local now = redis.call('TIME')
local clock = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'u'))
if tokens == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, clock - updated) * rate)
end
local granted = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - granted
local wait = 0
if granted == 0 then wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(clock))
redis.call('EXPIRE', KEYS[1], 86400)
return {granted, tostring(wait)}
"""


_redis_lock = threading.Lock()


_redis_script = None


def _redis_take(key: str, rate: float, capacity: float, want: int) -> tuple[int, float]:
    """The same bucket in Redis, one atomic script on Redis's own clock (workers' clocks may differ)."""
    global _redis_script
    with _redis_lock:
        if _redis_script is None:
            import redis

            _redis_script = redis.Redis.from_url(settings.REDIS_URL).register_script(_TAKE_SCRIPT)
    granted, wait = _redis_script(keys=[f"instant:bucket:{key}"], args=[rate, capacity, want])
    return int(granted), float(wait)
