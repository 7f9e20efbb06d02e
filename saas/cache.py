"""A Redis cache that degrades instead of failing: Redis down means a cache miss, not a 500.

Reads return the default, writes are dropped (logged, rate-limited). Callers
that must know (the rate limiter's degraded mode) can call `available()`.
"""

from __future__ import annotations

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("saas.cache")


def _fail_soft(name: str, fallback):
    def wrap(method):
        @functools.wraps(method)
        def inner(self, *args, **kwargs):
            try:
                result = method(self, *args, **kwargs)
            except (RedisError, OSError) as exc:  # not ValueError (incr of a missing key)
                self._note_failure(name, exc)
                if name == "get":
                    return kwargs.get("default", args[1] if len(args) > 1 else None)
                return fallback() if callable(fallback) else fallback
            self._down_since = None
            return result

        return inner

    return wrap


class FailSoftRedisCache(RedisCache):
    _down_since: float | None = None
    _last_log = 0.0

    def _note_failure(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        if now - self._last_log > 10:  # one warning per 10 s, not one per request
            self._last_log = now
            logger.warning(
                "cache unavailable (%s in %s); degrading", exc.__class__.__name__, operation
            )

    def available(self) -> bool:
        return self._down_since is None

    get = _fail_soft("get", None)(RedisCache.get)
    get_many = _fail_soft("get_many", dict)(RedisCache.get_many)
    has_key = _fail_soft("has_key", False)(RedisCache.has_key)
    set = _fail_soft("set", None)(RedisCache.set)
    add = _fail_soft("add", False)(RedisCache.add)
    set_many = _fail_soft("set_many", list)(RedisCache.set_many)
    touch = _fail_soft("touch", False)(RedisCache.touch)
    delete = _fail_soft("delete", False)(RedisCache.delete)
    delete_many = _fail_soft("delete_many", None)(RedisCache.delete_many)
    incr = _fail_soft("incr", None)(RedisCache.incr)
    decr = _fail_soft("decr", None)(RedisCache.decr)
    clear = _fail_soft("clear", False)(RedisCache.clear)
