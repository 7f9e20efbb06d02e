"""A per-process cache of rows read for a tenant, with a staleness bound and drop-safe fills.

The one home of the rule the token cache (accounts.token_cache) and the webhook
subscription cache (webhooks.subscription_cache) share:

* **Bound.** An entry is served for at most the cache's setting in seconds, never
  more than the registry's bound (TENANT_REGISTRY_MAX_AGE), counted from the moment
  its query began. 0 turns the cache off.
* **Drops.** A change drops the tenant's entries: the service that made it at once in
  its own process, every other process when the registry listener hears the table's
  NOTIFY (`<prefix><tenant id>`, `*` for every tenant).
* **Fills never outlive a drop.** A fill takes its read time before its query and is
  refused if the tenant was dropped after that time: a change heard while the query
  was under way is never overwritten by the older answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

_ALL = "*"


class BoundedTenantCache:
    """Values keyed by (tenant id, key) in this process; see the module doc."""

    def __init__(self, *, setting: str, payload: str, max_entries: int = 10_000):
        self.setting, self.payload, self.max_entries = setting, payload, max_entries
        # (tenant id, key) → (monotonic read time, value); tenant id → its keys (drops are O(keys))
        self._entries: OrderedDict[tuple[str, object], tuple[float, object]] = OrderedDict()
        self._keys: dict[str, set] = {}
        # tenant id (or "*") → monotonic time of its last drop. A drop matters only to
        # fills that began before it, so one older than the bound is forgotten.
        self._dropped: dict[str, float] = {}
        self._lock = threading.Lock()

    def bound(self) -> float:
        """Seconds an entry may be served: the setting, capped by the registry's bound."""
        wanted = float(getattr(settings, self.setting, settings.TENANT_REGISTRY_MAX_AGE))
        return max(0.0, min(wanted, settings.TENANT_REGISTRY_MAX_AGE))

    @staticmethod
    def read_time() -> float:
        """Taken by a fill before its query (see `put`)."""
        return time.monotonic()

    def get(self, tenant_id, key=None):
        """The value cached for (tenant, key), or None when there is none within the bound."""
        limit = self.bound()
        if limit <= 0:
            return None
        entry = (str(tenant_id), key)
        with self._lock:
            hit = self._entries.get(entry)
            if hit is None:
                return None
            if time.monotonic() - hit[0] >= limit:
                self._remove(entry)
                return None
            self._entries.move_to_end(entry)
            return hit[1]

    def put(self, tenant_id, value, read_at: float, key=None) -> None:
        """Cache `value`, read by a query that began at monotonic time `read_at`."""
        if self.bound() <= 0:
            return
        tenant = str(tenant_id)
        with self._lock:
            dropped = max(
                self._dropped.get(tenant, float("-inf")), self._dropped.get(_ALL, float("-inf"))
            )
            if read_at <= dropped:
                return  # dropped while the query ran: its answer may predate the change
            self._entries[(tenant, key)] = (read_at, value)
            self._entries.move_to_end((tenant, key))
            self._keys.setdefault(tenant, set()).add(key)
            while len(self._entries) > self.max_entries:
                self._remove(next(iter(self._entries)))

    def _remove(self, entry) -> None:
        del self._entries[entry]
        keys = self._keys.get(entry[0])
        if keys is not None:
            keys.discard(entry[1])
            if not keys:
                del self._keys[entry[0]]

    def forget_tenant(self, tenant_id) -> None:
        """Drop a tenant's entries (None: every tenant's)."""
        now = time.monotonic()
        with self._lock:
            if tenant_id is None:
                self._entries.clear()
                self._keys.clear()
                self._dropped.clear()
                self._dropped[_ALL] = now
                return
            tenant = str(tenant_id)
            for key in self._keys.pop(tenant, ()):
                self._entries.pop((tenant, key), None)
            self._dropped[tenant] = now
            if len(self._dropped) > self.max_entries:
                horizon = now - self.bound()
                for old in [k for k, at in self._dropped.items() if at < horizon]:
                    del self._dropped[old]
                if len(self._dropped) > self.max_entries:  # a flood: refuse every earlier fill
                    self._dropped.clear()
                    self._dropped[_ALL] = now

    def forget_all(self) -> None:
        self.forget_tenant(None)

    def on_registry_message(self, payload: str) -> None:
        """Registry listener hook: `<payload prefix><tenant id>` drops one tenant, `*` all."""
        self.forget_tenant(None if payload == _ALL else payload[len(self.payload) :])
