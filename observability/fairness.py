"""Fair share: a tenant may hold at most its plan's number of requests in flight, fleet-wide.

Each admitted request holds a lease in a Redis sorted set per tenant (member:
a random token, score: lease expiry), taken and released by one round trip
each; a Lua script drops expired leases and admits atomically, so all web
processes share one count. Leases expire after LEASE_SECONDS, longer than any
request may run (gunicorn's timeout), so a killed process cannot hold a slot.

A request over the limit waits up to FAIR_QUEUE_SECONDS for a slot (short: a
sync worker that waits is a worker taken), then gets 429 with Retry-After.
Without Redis, or while it is down, each process counts alone (a per-process
limit: weaker, but never an outage because of the limiter).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

logger = logging.getLogger("observability.fairness")

LEASE_SECONDS = 90
REDIS_BREAKER_SECONDS = 5.0
# Probes answer for the process, not for a tenant.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) + 1)
  return 1
end
return 0
"""


class _Local:
    """Per-process counts: the fallback when no shared store answers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    def acquire(self, key: str, limit: int) -> bool:
        with self._lock:
            if self._held.get(key, 0) >= limit:
                return False
            self._held[key] = self._held.get(key, 0) + 1
            return True

    def release(self, key: str) -> None:
        with self._lock:
            left = self._held.get(key, 1) - 1
            if left:
                self._held[key] = left
            else:
                self._held.pop(key, None)


class FairShare:
    def __init__(self):
        self._local = _Local()
        self._client = None
        self._script = None
        self._down_until = 0.0

    def _redis(self):
        if not settings.REDIS_URL or time.monotonic() < self._down_until:
            return None
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=0.1, socket_timeout=0.2
            )
            self._script = self._client.register_script(_ACQUIRE)
        return self._client

    def _redis_failed(self, exc: Exception) -> None:
        logger.warning("fair-share store unavailable, counting per process: %s", exc)
        self._down_until = time.monotonic() + REDIS_BREAKER_SECONDS

    def try_acquire(self, key: str, limit: int) -> tuple[str, str] | None:
        """A lease (where, token) or None when the tenant is at its limit."""
        if self._redis() is not None:
            token = uuid.uuid4().hex
            try:
                if self._script(keys=[key], args=[token, limit, LEASE_SECONDS]):
                    return ("redis", token)
                return None
            except Exception as exc:
                self._redis_failed(exc)
        return ("local", "") if self._local.acquire(key, limit) else None

    def release(self, key: str, lease: tuple[str, str]) -> None:
        where, token = lease
        if where == "local":
            self._local.release(key)
            return
        try:
            self._client.zrem(key, token)
        except Exception as exc:  # the lease expires by itself
            self._redis_failed(exc)


fair_share = FairShare()


def _key(tenant) -> str:
    return f"{settings.FAIR_SHARE_KEY_PREFIX}fair:{tenant.pk}"


@contextmanager
def tenant_slot(tenant, limit: int, *, wait: float) -> Iterator[bool]:
    """Hold one of the tenant's `limit` slots for the block; yields False if none came free."""
    key = _key(tenant)
    deadline = time.monotonic() + wait
    pause = 0.01
    lease = fair_share.try_acquire(key, limit)
    while lease is None and time.monotonic() < deadline:
        time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
        pause = min(pause * 2, 0.1)
        lease = fair_share.try_acquire(key, limit)
    try:
        yield lease is not None
    finally:
        if lease is not None:
            fair_share.release(key, lease)


class FairShareMiddleware:
    """After TenantMiddleware (request.tenant is set): admits or refuses per tenant."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from tenants.responses import refusal

        tenant = getattr(request, "tenant", None)
        limit = _limit(tenant)
        if not limit or request.path in EXEMPT_PATHS:
            return self.get_response(request)
        with tenant_slot(tenant, limit, wait=settings.FAIR_QUEUE_SECONDS) as admitted:
            if not admitted:
                return refusal(
                    request,
                    429,
                    "too_many_concurrent_requests",
                    f"This organisation already has {limit} requests in progress. "
                    "Please retry in a moment.",
                    {"Retry-After": "1"},
                )
            return self.get_response(request)


def _limit(tenant) -> int | None:
    if tenant is None or not tenant.__class__.plan.is_cached(tenant):
        return None
    return getattr(tenant.plan, "max_concurrent_requests", None)
