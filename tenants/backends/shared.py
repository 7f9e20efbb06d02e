"""Shared schema: the tenant's rows sit in the pooled tables of its server's pool, kept apart by RLS alone."""

from tenants.backends import pools
from tenants.backends.base import IsolationBackend
from tenants.backends.placement import Placement


class SharedBackend(pools.OnServerPool, IsolationBackend):
    mode = "shared"
    own_placement = False

    def describe(self, tenant) -> str:
        return f"the pooled tables on {tenant.server_name}"

    def placement(self, tenant) -> Placement:
        return pools.pool_placement(tenant.database_server)

    def placement_key(self, tenant) -> str:
        # Placement.fence_key without loading the server (the prefix of every statement).
        return "public"

    def provision(self, tenant) -> None:
        pools.ensure_pool(tenant.database_server)

    def deprovision(self, tenant) -> None:
        from tenants.backends.copy import delete_tenant_rows

        delete_tenant_rows(self.placement(tenant), tenant.pk)
