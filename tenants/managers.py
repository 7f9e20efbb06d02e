"""Managers for tenant-owned models: scoped by default, failing closed."""

from django.db import models

from tenants.context import require_current_tenant


class TenantManager(models.Manager):
    """Filters on the current tenant explicitly (index use, readable SQL) on top of RLS.

    With no tenant in context it raises NoTenantContext instead of returning
    nothing, so a missing scope is a loud bug, not a silent empty page.
    """

    def get_queryset(self):
        tenant = require_current_tenant()
        return super().get_queryset().filter(tenant_id=tenant.pk)


class UnscopedManager(models.Manager):
    """No app-level filter. Row-level security in PostgreSQL still applies."""
