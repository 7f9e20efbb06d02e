"""A placement: one concrete home of tenant rows (pooled tables, a schema, a database)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

from tenants.database_config import OPERATOR_ROLE, OWNER_ROLE, admin_conninfo

# The schema-mode template every tenant schema is cloned from; migrated like one
# (tenants.backends.schema, tenants.backends.migrate).
TEMPLATE_SCHEMA = "tenant_template"


@dataclass(frozen=True)
class Placement:
    # A role there may create databases and SET ROLE to the owner: a credential, so
    # left out of repr() (placements end up in log lines and error messages).
    server_url: str = field(repr=False)
    dbname: str
    schema: str  # "public" for pooled tables and tenant databases
    pooled: bool  # True: rows of many tenants share the tables (filter by tenant_id)

    @property
    def fence_key(self) -> str:
        """The name of this placement in `tenants_fence` rows (tenants.fence).

        Unique across every placement a tenant's statements can meet in one
        database: a tenant database's own rows are "db:<name>", so the main
        database's "public" (pooled rows, where a database tenant's billing rows
        also live) is never mistaken for it.
        """
        if self.pooled:
            return "public"
        if self.schema == "public":
            return "db:" + self.dbname
        return self.schema

    @property
    def label(self) -> str:
        return f"{self.dbname}.{self.schema}"

    def connect(self, *, role: str = OWNER_ROLE, autocommit: bool = False) -> psycopg.Connection:
        # Role, search_path and text rendering travel as startup options: no
        # extra round trips. Identical rendering on every server keeps
        # checksums comparable.
        options = (
            f"-c role={role} -c search_path={self.schema} -c TimeZone=UTC "
            "-c DateStyle=ISO,YMD -c extra_float_digits=3"
        )
        return psycopg.connect(
            admin_conninfo(self.server_url, self.dbname), autocommit=autocommit, options=options
        )

    @contextmanager
    def operator(self):
        """A connection as the BYPASSRLS operator role, for copying rows in and out."""
        conn = self.connect(role=OPERATOR_ROLE)
        try:
            yield conn
        finally:
            conn.close()
