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

A fill takes its read time before its query, and is refused if the tenant's entry
was dropped after that time: a change heard while the query was under way is never
overwritten by the older answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

PAYLOAD = "whk:"  # registry channel payload: whk:<tenant id> (migration webhooks 0002)
MAX_ENTRIES = 10_000

# tenant id → (monotonic read time, frozenset of subscribed event types)
_entries: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()
# tenant id → monotonic time of its last drop; "*" for a drop of every tenant. A drop
# matters only to fills that began before it, so one older than the bound is forgotten.
_dropped: dict[str, float] = {}
_lock = threading.Lock()


def bound() -> float:
    """Seconds an entry may be served: the setting, capped by the registry's bound."""
    wanted = float(
        getattr(settings, "WEBHOOK_SUBSCRIPTION_CACHE_SECONDS", settings.TENANT_REGISTRY_MAX_AGE)
    )
    return max(0.0, min(wanted, settings.TENANT_REGISTRY_MAX_AGE))


def read_time() -> float:
    """Taken by a fill before its query (see `put`)."""
    return time.monotonic()


def get(tenant_id) -> frozenset[str] | None:
    """The event types some enabled endpoint of the tenant receives, or None (not cached)."""
    limit = bound()
    if limit <= 0:
        return None
    key = str(tenant_id)
    with _lock:
        hit = _entries.get(key)
        if hit is None:
            return None
        if time.monotonic() - hit[0] >= limit:
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return hit[1]


def put(tenant_id, event_types, read_at: float) -> None:
    """Cache the tenant's subscribed `event_types`, read by a query that began at `read_at`."""
    if bound() <= 0:
        return
    key = str(tenant_id)
    with _lock:
        if read_at <= max(_dropped.get(key, float("-inf")), _dropped.get("*", float("-inf"))):
            return  # dropped while the query ran: its answer may predate the change
        _entries[key] = (read_at, frozenset(event_types))
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget_tenant(tenant_id) -> None:
    """Drop a tenant's entry (None: every tenant's)."""
    now = time.monotonic()
    with _lock:
        if tenant_id is None:
            _entries.clear()
            _dropped.clear()
            _dropped["*"] = now
            return
        key = str(tenant_id)
        _entries.pop(key, None)
        _dropped[key] = now
        if len(_dropped) > MAX_ENTRIES:
            horizon = now - bound()
            for old in [k for k, at in _dropped.items() if at < horizon]:
                del _dropped[old]
            if len(_dropped) > MAX_ENTRIES:  # a flood of changes: refuse every earlier fill
                _dropped.clear()
                _dropped["*"] = now


def forget_all() -> None:
    forget_tenant(None)


def on_registry_message(payload: str) -> None:
    """Registry listener hook: `whk:<tenant id>` drops one tenant's entry, `*` all of them."""
    forget_tenant(None if payload == "*" else payload[len(PAYLOAD) :])
