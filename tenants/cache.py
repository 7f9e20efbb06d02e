"""The tenant data cache: keys carry the tenant, values stay in the tenant's region.

`tenant_key` puts the current tenant in every key, so a cached value never
crosses tenants. `RegionalCache` (the `default` cache) sends each operation to
the cache of the current tenant's region (TENANT_REGION_CACHES); work with no
tenant uses the default region's. A tenant whose region has no cache of its
own gets no caching at all (reads miss, writes are dropped): a cached value is
never written to another region's store.
"""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from tenants.context import get_current_tenant


def tenant_key(key: str, key_prefix: str, version: int) -> str:
    tenant = get_current_tenant()
    scope = tenant.pk.hex if tenant is not None else "-"
    return f"{key_prefix}:{version}:t:{scope}:{key}"


class _NoCache:
    """A region without a cache of its own: nothing is kept, nothing leaves the region."""

    def get(self, key, default=None, version=None):
        return default

    def get_many(self, keys, version=None):
        return {}

    def has_key(self, key, version=None):
        return False

    def set(self, *args, **kwargs):
        return None

    def add(self, *args, **kwargs):
        return False

    def set_many(self, data, *args, **kwargs):
        return list(data)

    def touch(self, *args, **kwargs):
        return False

    def delete(self, *args, **kwargs):
        return False

    def delete_many(self, *args, **kwargs):
        return None

    def incr(self, key, delta=1, version=None):
        raise ValueError(f"Key '{key}' not found")

    def decr(self, key, delta=1, version=None):
        raise ValueError(f"Key '{key}' not found")

    def clear(self):
        return None


class RegionalCache(BaseCache):
    """OPTIONS: {"regions": {region: cache alias}, "home": the default region}."""

    def __init__(self, location, params):
        options = dict(params.get("OPTIONS") or {})
        self._regions: dict[str, str] = dict(options.pop("regions", {}))
        self._home: str = options.pop("home", "default")
        params = {**params, "OPTIONS": options}
        super().__init__(params)

    def _cache(self):
        tenant = get_current_tenant()
        region = tenant.region if tenant is not None else self._home
        alias = self._regions.get(region)
        return caches[alias] if alias else _NoCache()

    def get(self, key, default=None, version=None):
        return self._cache().get(key, default, version)

    def get_many(self, keys, version=None):
        return self._cache().get_many(keys, version)

    def has_key(self, key, version=None):
        return self._cache().has_key(key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._cache().set(key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._cache().add(key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._cache().set_many(data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._cache().touch(key, timeout, version)

    def delete(self, key, version=None):
        return self._cache().delete(key, version)

    def delete_many(self, keys, version=None):
        return self._cache().delete_many(keys, version)

    def incr(self, key, delta=1, version=None):
        return self._cache().incr(key, delta, version)

    def decr(self, key, delta=1, version=None):
        return self._cache().decr(key, delta, version)

    def clear(self):
        """Clears every region's cache (an operator action)."""
        for alias in set(self._regions.values()):
            caches[alias].clear()

    def available(self) -> bool:
        cache = self._cache()
        return bool(getattr(cache, "available", lambda: True)())
