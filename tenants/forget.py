"""A tenant's records in the main database removed: the last step of every deletion."""

from __future__ import annotations

from django.apps import apps
from django.db import connections, transaction

from tenants import resolvers
from tenants.context import dangerously_unscoped
from tenants.control import control_alias
from tenants.models import Tenant, TenantOwned
from tenants.reservations import subdomain_reserve


def tenant_forget(*, tenant: Tenant, reserve: bool, backup_path: str = ""):
    """Delete the tenant's main-database rows (billing…) and its registry row.

    Its placement is the caller's to remove first (tenant_delete), or to give up on: a
    creation that failed against an unreachable server still frees the subdomain here.
    Returns the reservation's expiry when `reserve`, else None.
    """
    reason = f"deleting tenant {tenant.subdomain}"
    # Records kept in the main database whatever the mode (billing…).
    with dangerously_unscoped(reason):
        for model in apps.get_models():
            if issubclass(model, TenantOwned) and not model.tenant_placed:
                with connections["operator"].cursor() as cur:
                    cur.execute(
                        f'DELETE FROM "{model._meta.db_table}" WHERE tenant_id = %s', [tenant.pk]
                    )
    reserved_until = None
    # The registry and the reservation are the operator role's to write; the tenant's
    # move records are under RLS, so only that role sees them to cascade.
    with dangerously_unscoped(reason), transaction.atomic(using=control_alias(reason)):
        # In one transaction with the delete: the name is never free in between.
        if reserve:
            reserved_until = subdomain_reserve(
                subdomain=tenant.subdomain, tenant_id=tenant.pk, backup_path=backup_path
            ).expires_at
        Tenant.objects.filter(pk=tenant.pk).delete()
    resolvers.invalidate(tenant.subdomain)
    return reserved_until
