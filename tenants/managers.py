"""Managers for tenant-owned models: scoped by default, failing closed."""

from functools import lru_cache

from django.db import models
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND

from tenants.context import get_current_tenant, require_current_tenant


class ScopedTenantId(models.Expression):
    """The tenant a scoped queryset was built for, as the connection should compare it.

    Every policy compares `tenant_id` with `public.saas_current_tenant()`. Beside the
    literal id the planner keeps both: it checks `saas_current_tenant() = '<id>'` once,
    in a gating node every row of the scan then passes through (~20 ns a row: a
    5,000-row count ×1.11, `rls_with_filter_overhead_ratio`). With the call on both
    sides the filter and the policy are one condition, an index condition evaluated
    once, no gating node. So a query that reads one table sends the call.

    A query that joins tables sends the literal: the joined tables then get the
    constant too, where with the call alone the inner side of a nested loop evaluates
    it again on every rescan (and the planner, costing the call per row a bitmap scan
    might recheck, picks that nested loop: the bench's join ×1.4 against ×1.08).

    The call only where it means this tenant: a connection that sends the tenant
    context (tenants.db) while the queryset's tenant is the one in context. Anywhere
    else (a stock backend, a queryset evaluated after its scope was left) it is the
    literal id: with another tenant in context the query still finds nothing.
    """

    output_field = models.UUIDField()

    def __init__(self, tenant_id):
        super().__init__()
        self.tenant_id = tenant_id

    def resolve_expression(self, *args, **kwargs):
        return self  # immutable, no source expressions: nothing to resolve or copy

    def as_sql(self, compiler, connection):
        current_sql = getattr(connection, "current_tenant_sql", None)
        if current_sql is not None and _reads_one_table(compiler.query):
            current = get_current_tenant()
            if current is not None and current.pk == self.tenant_id:
                return current_sql, []
        return "%s", [self.tenant_id]


@lru_cache(maxsize=4096)
def scoped_tenant_id(tenant_id) -> ScopedTenantId:
    """One instance per tenant: built once, not on every scoped queryset."""
    return ScopedTenantId(tenant_id)


def _reads_one_table(query) -> bool:
    return sum(1 for count in query.alias_refcount.values() if count) <= 1


class TenantQuerySet(models.QuerySet):
    """A queryset that knows which tenant its manager already filtered on.

    Selectors name their tenant (`.filter(tenant_id=tenant.pk)`) although the scoped
    manager filters too; the same condition twice costs planning on every query.
    A filter on the tenant the manager already applied is therefore a no-op; any
    other tenant_id filter is kept (and with the manager's, matches nothing).
    """

    _scoped_tenant: str | None = None

    def _clone(self):
        clone = super()._clone()
        clone._scoped_tenant = self._scoped_tenant
        return clone

    def _filter_or_exclude(self, negate, args, kwargs):
        scoped = self._scoped_tenant
        if (
            not negate
            and scoped is not None
            and "tenant_id" in kwargs
            and str(kwargs["tenant_id"]) == scoped
        ):
            kwargs = {k: v for k, v in kwargs.items() if k != "tenant_id"}
            if not args and not kwargs:
                return self._chain()
        return super()._filter_or_exclude(negate, args, kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Filters on the current tenant explicitly (index use, readable SQL) on top of RLS.

    With no tenant in context it raises NoTenantContext instead of returning
    nothing, so a missing scope is a loud bug, not a silent empty page.
    """

    def get_queryset(self):
        tenant = require_current_tenant()
        qs = super().get_queryset()
        # What `.filter(tenant_id=…)` builds, without its clone and lookup resolution
        # (~30 µs a queryset): one condition on a fresh query's base table.
        query = qs.query
        column = self.model._meta.get_field("tenant_id").get_col(query.get_initial_alias())
        query.where.add(Exact(column, scoped_tenant_id(tenant.pk)), AND)
        qs._scoped_tenant = str(tenant.pk)
        return qs


class UnscopedManager(models.Manager):
    """No app-level filter. Row-level security in PostgreSQL still applies."""
