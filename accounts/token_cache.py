"""API tokens by key id, in this process, so a request's token costs no query in the steady state.

What is cached is the token row with its creator's row (role, is_active): the
authority a token exercises is still computed at each use from those rows
(ApiToken.has_scope), and the secret's hash is still compared at each use.

**Staleness bound**: an entry is served for at most settings.API_TOKEN_CACHE_SECONDS
(never more than the registry's bound, TENANT_REGISTRY_MAX_AGE). Changes reach
every process faster than that: a trigger on the token and user tables NOTIFYs
the tenant on commit (revocation, expiry, scopes, a creator's role or active
flag) and the registry listener drops that tenant's entries; the services that
make those changes drop them in their own process at once. The bound is what
holds when a message cannot arrive (a tenant in its own database, a listener
reconnecting).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

TOKEN_PAYLOAD = "tok:"  # registry channel payload: tok:<tenant id>
MAX_ENTRIES = 10_000

# (tenant id, key id) → (monotonic read time, ApiToken with created_by loaded)
_entries: OrderedDict[tuple[str, str], tuple[float, object]] = OrderedDict()
_lock = threading.Lock()


def bound() -> float:
    """Seconds an entry may be served: the token setting, capped by the registry's bound."""
    wanted = float(getattr(settings, "API_TOKEN_CACHE_SECONDS", settings.TENANT_REGISTRY_MAX_AGE))
    return max(0.0, min(wanted, settings.TENANT_REGISTRY_MAX_AGE))


def get(tenant_id, key_id: str):
    limit = bound()
    if limit <= 0:
        return None
    key = (str(tenant_id), key_id)
    with _lock:
        hit = _entries.get(key)
        if hit is None:
            return None
        if time.monotonic() - hit[0] >= limit:
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return hit[1]


def put(tenant_id, key_id: str, token, read_at: float) -> None:
    """Cache `token`, read from the database at monotonic time `read_at` (taken before the query)."""
    if bound() <= 0:
        return
    with _lock:
        _entries[(str(tenant_id), key_id)] = (read_at, token)
        _entries.move_to_end((str(tenant_id), key_id))
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget_tenant(tenant_id) -> None:
    """Drop every cached token of a tenant (None: of every tenant)."""
    with _lock:
        if tenant_id is None:
            _entries.clear()
            return
        tid = str(tenant_id)
        for key in [k for k in _entries if k[0] == tid]:
            del _entries[key]


def on_registry_message(payload: str) -> None:
    """Registry listener hook: `tok:<tenant id>` drops one tenant's tokens, `*` all of them."""
    forget_tenant(None if payload == "*" else payload[len(TOKEN_PAYLOAD) :])


def forget_all() -> None:
    forget_tenant(None)


def read_time() -> float:
    return time.monotonic()
