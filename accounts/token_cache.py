"""API tokens by key id, in this process, so a request's token costs no query in the steady state.

What is cached is the token row with its creator's row (role, is_active): the
authority a token exercises is still computed at each use from those rows
(ApiToken.has_scope), and the secret's hash is still compared at each use.

**Staleness bound**: an entry is served for at most settings.API_TOKEN_CACHE_SECONDS
(never more than the registry's bound, TENANT_REGISTRY_MAX_AGE). Changes reach
every process faster than that: a trigger on the token and user tables NOTIFYs
the tenant on commit (revocation, expiry, scopes, a creator's role or active
flag) and the registry listener drops that tenant's entries; the services that
make those changes drop them in their own process at once. The trigger speaks in
the database it fires in and listeners hear only the main one, so for a tenant
whose rows live elsewhere (its own database, another server's pool) the services
relay the message to the main database after their commit
(tenants.registry_listener.relay). The bound is what holds when no message
arrives: a listener reconnecting, a change written in a tenant's own database by
other means than the services. A fill that began before a drop is refused
(tenants.process_cache).
"""

from __future__ import annotations

from tenants.process_cache import BoundedTenantCache

TOKEN_PAYLOAD = "tok:"  # registry channel payload: tok:<tenant id>

# (tenant id, key id) → ApiToken with created_by loaded
_cache = BoundedTenantCache(setting="API_TOKEN_CACHE_SECONDS", payload=TOKEN_PAYLOAD)

bound = _cache.bound
read_time = _cache.read_time
forget_tenant = _cache.forget_tenant
forget_all = _cache.forget_all
on_registry_message = _cache.on_registry_message


def get(tenant_id, key_id: str):
    return _cache.get(tenant_id, key_id)


def put(tenant_id, key_id: str, token, read_at: float) -> None:
    """Cache `token`, read from the database at monotonic time `read_at` (taken before the query)."""
    _cache.put(tenant_id, token, read_at, key=key_id)
