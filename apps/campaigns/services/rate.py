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


def take_token(campaign: Campaign, now: datetime) -> float:
    """0 when a send may go now, else the seconds until the next token (shared by every worker)."""
    fresh = Campaign.objects.filter(pk=campaign.pk).values("rate_per_second", "throttle", "throttled_at").first() or {}
    campaign.throttle = fresh.get("throttle", campaign.throttle)
    campaign.throttled_at = fresh.get("throttled_at", campaign.throttled_at)
    rate = rate_of(campaign) * effective_throttle(campaign, now)
    # A tenth of a second of burst: enough to absorb the runner's claiming jitter, too little to
    # exceed the provider's per-second limit.
    capacity = max(1.0, rate / 10)
    key = f"campaign:{campaign.pk}"
    if settings.REDIS_URL:
        return _redis_take(key, rate, capacity)
    return _db_take(key, rate, capacity)


def _db_take(key: str, rate: float, capacity: float) -> float:
    with transaction.atomic():
        bucket = TokenBucket.objects.select_for_update().filter(key=key).first()
        clock = time.time()
        if bucket is None:
            try:
                with transaction.atomic():
                    TokenBucket.objects.create(key=key, tokens=0.0, updated=clock)
                return 0.0
            except IntegrityError:
                bucket = TokenBucket.objects.select_for_update().get(key=key)
        tokens = min(capacity, bucket.tokens + max(0.0, clock - bucket.updated) * rate)
        if tokens >= 1:
            TokenBucket.objects.filter(pk=bucket.pk).update(tokens=tokens - 1, updated=clock)
            return 0.0
        TokenBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated=clock)
        return (1 - tokens) / rate


_TAKE_SCRIPT = """
local now = redis.call('TIME')
local clock = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'u'))
local wait = 0
if tokens == nil then
  tokens = 0
else
  tokens = math.min(capacity, tokens + math.max(0, clock - updated) * rate)
  if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(clock))
redis.call('EXPIRE', KEYS[1], 86400)
return tostring(wait)
"""


_redis_lock = threading.Lock()


_redis_script = None


def _redis_take(key: str, rate: float, capacity: float) -> float:
    """The same bucket in Redis, one atomic script on Redis's own clock (workers' clocks may differ)."""
    global _redis_script
    with _redis_lock:
        if _redis_script is None:
            import redis

            _redis_script = redis.Redis.from_url(settings.REDIS_URL).register_script(_TAKE_SCRIPT)
    return float(_redis_script(keys=[f"instant:bucket:{key}"], args=[rate, capacity]))
