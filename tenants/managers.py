"""Managers for tenant-owned models: scoped by default, failing closed."""

from django.db import models

from tenants.context import require_current_tenant


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
        qs = super().get_queryset().filter(tenant_id=tenant.pk)
        qs._scoped_tenant = str(tenant.pk)
        return qs


class UnscopedManager(models.Manager):
    """No app-level filter. Row-level security in PostgreSQL still applies."""
