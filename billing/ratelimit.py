"""API rate limits per plan: a fixed one-minute window per tenant, whatever the token.

Shared across processes through Redis: one round trip per request (INCR and
EXPIRE in one MULTI/EXEC pipeline). The counters of a tenant go to the Redis of
its region, like its cached values (docs/residency.md): TENANT_REGION_CACHES[region],
or REDIS_URL for the default region. A region without a Redis of its own, or an
install without Redis (the embedded default), counts in-process: a counter is
never written to another region's store. A counter's key is ids only (tenant,
minute) and it expires after the window. The plan's rate is the organisation's: every
token of the tenant draws on one budget (tokens cost nothing to mint, so a budget per
token made the plan's number a per-token one, multiplied at will).

Degraded mode: when Redis errors or times out, the request is counted by the
in-process limiter instead (so each process enforces the limit on its own:
at worst `processes x limit` requests per window get through) and Redis is not
tried again for REDIS_RETRY_AFTER seconds, so an outage costs one timeout per
process, not one per request. A limiter failure never fails the request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger("billing.ratelimit")

WINDOW_SECONDS = 60
REDIS_RETRY_AFTER = 10.0
KEY_PREFIX = "ratelimit"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the window ends
    retry_after: int  # seconds until a refused client may retry (0 when allowed)
    backend: str  # "redis", "local" or "local-degraded"

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class LocalCounter:
    """Fixed-window counters in this process's memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._window: int | None = None

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if window != self._window:  # a new minute: forget the old one
                self._counts.clear()
                self._window = window
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, url: str):
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)

    def incr(self, key: str, window: int) -> int:
        pipe = self._client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS + 5)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    def __init__(self, redis_url: str | None = None, clock=time.time):
        self.clock = clock
        self.local = LocalCounter()
        self.redis = RedisCounter(redis_url) if redis_url else None
        self._redis_down_until = 0.0

    def hit(self, *, tenant_id, limit: int) -> RateDecision:
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        reset = (window + 1) * WINDOW_SECONDS
        key = f"{KEY_PREFIX}:{tenant_id}:{window}"
        count, backend = self._incr(key, window, now)
        allowed = count <= limit
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - count),
            reset=reset,
            retry_after=0 if allowed else max(1, math.ceil(reset - now)),
            backend=backend,
        )

    def _incr(self, key: str, window: int, now: float) -> tuple[int, str]:
        if self.redis is None:
            return self.local.incr(key, window), "local"
        if now >= self._redis_down_until:
            try:
                return self.redis.incr(key, window), "redis"
            except Exception:  # any Redis failure: degrade, never fail the request
                logger.warning("rate limiter: Redis unavailable, using the in-process limiter")
                self._redis_down_until = now + REDIS_RETRY_AFTER
        return self.local.incr(key, window), "local-degraded"


_limiters: dict[str, RateLimiter] = {}
_limiter_lock = threading.Lock()


def region_redis_url(region: str | None) -> str | None:
    """The Redis that holds the counters of `region`'s tenants; None: count in-process."""
    region = region or settings.TENANT_DEFAULT_REGION
    if region in settings.TENANT_REGION_CACHES:
        return settings.TENANT_REGION_CACHES[region] or None
    if region == settings.TENANT_DEFAULT_REGION:
        return settings.REDIS_URL or None
    return None


def get_limiter(region: str | None = None) -> RateLimiter:
    """The limiter of `region` (default: the default region's), one per process and region."""
    region = region or settings.TENANT_DEFAULT_REGION
    limiter = _limiters.get(region)
    if limiter is None:
        with _limiter_lock:
            limiter = _limiters.get(region)
            if limiter is None:
                limiter = _limiters[region] = RateLimiter(region_redis_url(region))
    return limiter


def rate_limit_hit(*, tenant) -> RateDecision:
    """Count one API request of `tenant` (any token) and decide: the plan's rpm."""
    return get_limiter(tenant.region).hit(
        tenant_id=tenant.pk, limit=tenant.plan.api_requests_per_minute
    )
