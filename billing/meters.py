"""How much of each resource a tenant uses: one counting rule per resource, registered by the
app that owns the resource, read by the plan limits and the usage roll-up alike.

Billing knows no product model: `accounts` registers `members`, `projects` registers
`projects` and `tasks` (each from its `usage.py`, loaded by its AppConfig.ready). A limit
per parent (tasks per project) uses the meter's per-parent count and, tenant-wide, the
fullest parent.

A resource that a plan limit bounds is counted in SQL, by the owning app's
`public.saas_usage_<resource>()` (its migration installs it in every placement): the meter
calls it through `usage_sql`, and the limit check calls it under its lock in the same
statement that takes the lock (billing.limits), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

from tenants.routers import data_alias


@dataclass(frozen=True)
class Meter:
    resource: str
    count: Callable  # (tenant) -> int: the tenant's whole usage
    count_in: Callable | None = None  # (tenant, parent) -> int: usage within one parent
    fullest: Callable | None = None  # (tenant) -> int: usage of the fullest parent


_meters: dict[str, Meter] = {}


def meter_register(
    resource: str,
    *,
    count: Callable,
    count_in: Callable | None = None,
    fullest: Callable | None = None,
) -> None:
    """Register the one counting rule for `resource` (idempotent for the same rule)."""
    meter = Meter(resource, count, count_in, fullest)
    existing = _meters.get(resource)
    if existing is not None and existing != meter:
        raise RuntimeError(f"usage of {resource!r} is already counted by {existing.count!r}")
    _meters[resource] = meter


def meter_get(resource: str) -> Meter:
    try:
        return _meters[resource]
    except KeyError:
        raise LookupError(
            f"no app counts {resource!r}: register it with billing.meters.meter_register"
        ) from None


def usage_count(*, tenant, resource: str, parent=None) -> int:
    """The tenant's usage of `resource`, within `parent` when given. Run in the tenant's scope."""
    meter = meter_get(resource)
    if parent is None:
        return meter.count(tenant)
    if meter.count_in is None:
        raise ValueError(f"{resource!r} is not counted per parent")
    return meter.count_in(tenant, parent)


def usage_count_fullest(*, tenant, resource: str) -> int:
    """The usage of `resource` in the tenant's fullest parent (0 with none)."""
    meter = meter_get(resource)
    if meter.fullest is None:
        raise ValueError(f"{resource!r} is not counted per parent")
    return meter.fullest(tenant)


def usage_sql(tenant, statement: str, params) -> int:
    """Run an app's counting function (a constant statement) where `tenant`'s rows live."""
    with connections[data_alias(tenant)].cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchone()[0]
