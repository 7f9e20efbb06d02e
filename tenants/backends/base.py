"""The interface every isolation backend implements."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS


def enter_tenant_sql(
    tenant_id: str, placement_key: str, search_path: str, timeout_ms: int | None
) -> tuple[str, int]:
    # Every value is ours (a uuid, a schema name derived from it, an int): no user input.
    return (
        f"SELECT public.saas_enter_tenant('{tenant_id}', '{placement_key}', "
        f"'{search_path}', {int(timeout_ms or 0)})",
        1,
    )


class IsolationBackend:
    mode: str = ""

    def context_prefix(self, tenant, timeout_ms: int | None) -> tuple[str, int]:
        """The statement that enters `tenant` at the start of each transaction (see tenants.fence)."""
        return enter_tenant_sql(tenant.context_id, self.placement_key(tenant), "", timeout_ms)

    def placement_key(self, tenant) -> str:
        """The tenant's placement as its fences name it (Placement.fence_key)."""
        return self.placement(tenant).fence_key

    def data_alias(self, tenant) -> str:
        """The Django database alias that holds this tenant's placed rows."""
        return DEFAULT_DB_ALIAS

    def provision(self, tenant) -> None:
        """Create the tenant's placement; idempotent, safe to re-run after a crash."""

    def deprovision(self, tenant) -> None:
        """Remove the tenant's placement (its rows, schema or database)."""

    def placement(self, tenant):
        """Where the rows are, for copying, migrating and reporting."""
        raise NotImplementedError
