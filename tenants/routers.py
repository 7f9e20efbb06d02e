"""Sends each query to the connection that may run it.

* Inside dangerously_unscoped(): the BYPASSRLS `operator` alias.
* Models that say `operator_only = True` (platform staff, their sessions): always
  the `operator` alias; the app role has no privilege on their tables.
* Everything else: `default` (the app role). Isolation backends that place a
  tenant's data elsewhere extend `data_alias()`; callers never branch on the
  isolation mode themselves.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from tenants.context import get_current_tenant, unscoped_reason

OPERATOR_ALIAS = "operator"
OWNER_ALIAS = "owner"


def data_alias(tenant=None) -> str:
    """The alias holding tenant-placed rows for `tenant` (default: the current one)."""
    if unscoped_reason() is not None:
        return OPERATOR_ALIAS
    tenant = tenant if tenant is not None else get_current_tenant()
    if tenant is None:
        return DEFAULT_DB_ALIAS
    from tenants.backends import backend_for

    return backend_for(tenant).data_alias(tenant)


class TenantRouter:
    def db_for_read(self, model, **hints):
        if getattr(model, "operator_only", False):
            # Platform staff's own tables: only the operator role has rights on them.
            return OPERATOR_ALIAS
        if getattr(model, "tenant_placed", False):
            return data_alias()
        if unscoped_reason() is not None:
            return OPERATOR_ALIAS
        return None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        from tenants.backends import migrating_placement

        placement = migrating_placement()
        if placement is None:
            return True
        # Migrating one tenant's own schema or database: tenant tables only.
        if model_name is None:
            # RunSQL/RunPython run in tenant placements only when they say so.
            return hints.get("tenant_placed", False)
        from django.apps import apps

        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            return False
        return bool(getattr(model, "tenant_placed", False))
