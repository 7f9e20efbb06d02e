"""The interface every isolation backend implements."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from tenants.fair_share import statement_slots


def enter_tenant_sql(
    tenant_id: str, placement_key: str, search_path: str, timeout_ms: int | None
) -> tuple[str, int]:
    # Every value is ours (a uuid, a schema name derived from it, ints): no user input.
    # The last argument (an application_name for the transaction) stays '': statements
    # are attributed by a leading comment instead (tenants.attribution), which costs the
    # server nothing, where a transaction-local application_name is a GUC set and
    # reverted (and reported to the client) on every transaction.
    slots, wait_ms = statement_slots()
    return (
        f"SELECT public.saas_enter_tenant('{tenant_id}', '{placement_key}', "
        f"'{search_path}', {int(timeout_ms or 0)}, {slots}, {wait_ms}, '')",
        1,
    )


class IsolationBackend:
    mode: str = ""
    #: The placement is the tenant's alone (a schema, a database): provisioned apart,
    #: migrated by migrate_tenants and checked one by one. False: pooled rows.
    own_placement: bool = True
    #: The placement is a database of its own (on a registered server).
    own_database: bool = False

    def pool_schema(self, tenant) -> str | None:
        """The schema of the tenant's server's pool that is the tenant's own, if any."""
        return None

    def describe(self, tenant) -> str:
        """Where the tenant's rows are, in words, for operators' output."""
        return f"{self.mode} placement on {tenant.server_name}"

    def search_path(self, tenant) -> str:
        """The transaction's search_path for this tenant ("" keeps the connection's)."""
        return ""

    def context_prefix(self, tenant, timeout_ms: int | None) -> tuple[str, int]:
        """The statement that enters `tenant` at the start of each transaction (see tenants.fence)."""
        return enter_tenant_sql(
            tenant.context_id, self.placement_key(tenant), self.search_path(tenant), timeout_ms
        )

    def operator_context_prefix(self, tenant) -> tuple[str, int]:
        """The same context for the BYPASSRLS operator role, without the fence check.

        Fences stop stale app processes; operator paths (a move's own progress, billing
        and job rows written during it) are the ones moving the tenant.
        """
        parts = [f"SET LOCAL app.current_tenant = '{tenant.context_id}'"]
        if path := self.search_path(tenant):
            parts.append(f"SET LOCAL search_path TO {path}")
        return "; ".join(parts), len(parts)

    def placement_key(self, tenant) -> str:
        """The tenant's placement as its fences name it (Placement.fence_key)."""
        return self.placement(tenant).fence_key

    def data_alias(self, tenant) -> str:
        """The Django database alias that holds this tenant's placed rows."""
        return DEFAULT_DB_ALIAS

    def mark_down(self, tenant) -> bool:
        """Trip the breaker of the runtime alias holding the tenant; False: it has none."""
        return False

    def prepare_server(self, tenant) -> None:
        """Make the tenant's server ready to hold its placement (its pool); idempotent."""

    def provision(self, tenant) -> None:
        """Create the tenant's placement; idempotent, safe to re-run after a crash."""

    def deprovision(self, tenant) -> None:
        """Remove the tenant's placement (its rows, schema or database)."""

    def placement(self, tenant):
        """Where the rows are, for copying, migrating and reporting."""
        raise NotImplementedError
