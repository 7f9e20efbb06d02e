"""The interface every isolation backend implements."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS


class IsolationBackend:
    mode: str = ""

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
