"""Each tenant's webhook subscriptions, in this process, so recording an event reads no endpoint.

What is cached per tenant is the set of event types at least one enabled endpoint
receives: `webhooks.events.event_record` asks it before writing anything. Which
endpoints receive an event is still decided from their rows when it is dispatched.

**Staleness bound**: an entry is served for at most
settings.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS (never more than the registry's bound,
TENANT_REGISTRY_MAX_AGE). Changes reach every process faster than that: a trigger on
the endpoint table NOTIFYs `whk:<tenant id>` on commit (an endpoint added or removed,
its events or enabled flag changed — whatever path wrote it) and the registry listener
drops that tenant's entry; the services that make those changes drop it in their own
process at once. Endpoints live in the main database for every isolation mode, so the
message comes for every tenant; the bound is what holds while a listener reconnects.
A fill that began before a drop is refused (tenants.process_cache).
"""

from __future__ import annotations

from tenants.process_cache import BoundedTenantCache

PAYLOAD = "whk:"  # registry channel payload: whk:<tenant id> (migration webhooks 0002)

# tenant id → frozenset of subscribed event types
_cache = BoundedTenantCache(setting="WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", payload=PAYLOAD)

bound = _cache.bound
read_time = _cache.read_time
forget_tenant = _cache.forget_tenant
forget_all = _cache.forget_all
on_registry_message = _cache.on_registry_message


def get(tenant_id) -> frozenset[str] | None:
    """The event types some enabled endpoint of the tenant receives, or None (not cached)."""
    return _cache.get(tenant_id)


def put(tenant_id, event_types, read_at: float) -> None:
    """Cache the tenant's subscribed `event_types`, read by a query that began at `read_at`."""
    _cache.put(tenant_id, frozenset(event_types), read_at)
