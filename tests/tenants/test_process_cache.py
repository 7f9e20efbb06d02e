"""The bounded per-process tenant cache behind the token and webhook subscription caches."""

from __future__ import annotations

import pytest

from tenants.process_cache import BoundedTenantCache


@pytest.fixture
def cache(settings):
    settings.TENANT_REGISTRY_MAX_AGE = 5.0
    settings.TEST_PROCESS_CACHE_SECONDS = 5.0
    return BoundedTenantCache(setting="TEST_PROCESS_CACHE_SECONDS", payload="tst:", max_entries=3)


def test_a_drop_takes_one_tenants_keys_and_nothing_else(cache):
    for tenant, key in (("a", 1), ("a", 2), ("b", 1)):
        cache.put(tenant, f"{tenant}{key}", cache.read_time(), key=key)
    cache.on_registry_message("tst:a")
    assert (cache.get("a", 1), cache.get("a", 2), cache.get("b", 1)) == (None, None, "b1")


def test_eviction_keeps_the_newest_and_a_later_drop_still_works(cache):
    for n in range(5):
        cache.put("a" if n % 2 else "b", n, cache.read_time(), key=n)
    assert [cache.get("a" if n % 2 else "b", n) for n in range(5)] == [None, None, 2, 3, 4]
    cache.forget_tenant("b")
    assert (cache.get("b", 2), cache.get("b", 4), cache.get("a", 3)) == (None, None, 3)
    cache.put("b", "again", cache.read_time(), key=2)
    assert cache.get("b", 2) == "again"


def test_a_fill_older_than_a_drop_is_refused_and_the_bound_caps_the_setting(cache, settings):
    read_at = cache.read_time()
    cache.forget_all()
    cache.put("a", "old", read_at)
    assert cache.get("a") is None
    settings.TEST_PROCESS_CACHE_SECONDS = 60.0
    assert cache.bound() == 5.0
    settings.TEST_PROCESS_CACHE_SECONDS = 0
    cache.put("a", "off", cache.read_time())
    assert cache.get("a") is None
