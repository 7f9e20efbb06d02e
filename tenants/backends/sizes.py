"""How much data a tenant holds on its server, in bytes: the measure `rebalance_tenants --by size` evens out.

Read from PostgreSQL's own accounting, per placement, in a few statements per server:

* `database`: `pg_database_size` of its database (what the server's disk holds for it,
  the empty database's few MB included: they are real);
* `schema`: the sum of `pg_total_relation_size` (table, indexes, TOAST) of the tables
  of its schema — catalog figures, no row is read;
* `shared`: its share of the pooled tables, which it shares with others: for every
  tenant-placed table, its row count times the table's average bytes per row (the
  table's total relation size over its live rows). One `GROUP BY tenant_id` per pooled
  table and server (an index-only scan of the tenant index where the visibility map
  allows) gives every tenant's count at once; no row content is read.

Rows the tenant keeps in the main database whatever its placement (billing, jobs:
`tenant_placed = False`) do not move with it and are not counted.
"""

from __future__ import annotations

from collections import defaultdict

import psycopg
from psycopg import sql

from tenants.backends.copy import placed_tables
from tenants.database_config import admin_conninfo


def tenant_sizes(tenants) -> dict:
    """{tenant pk: bytes} for these tenants (each with its server loaded), read on their servers."""
    from tenants.backends import backend_for

    by_database: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    databases: dict[str, list] = defaultdict(list)  # server url → tenants with their own
    for tenant in tenants:
        placement = backend_for(tenant).placement(tenant)
        if placement.pooled:
            by_database[(placement.server_url, placement.dbname)]["shared"].append(tenant)
        elif placement.schema != "public":
            by_database[(placement.server_url, placement.dbname)]["schema"].append(tenant)
        else:
            databases[placement.server_url].append((tenant, placement.dbname))
    sizes = {tenant.pk: 0 for tenant in tenants}
    for (url, dbname), modes in by_database.items():
        with psycopg.connect(admin_conninfo(url, dbname), autocommit=True) as conn:
            if modes["shared"]:
                sizes.update(_pooled_sizes(conn, [t.pk for t in modes["shared"]]))
            if modes["schema"]:
                names = {t.schema_name: t.pk for t in modes["schema"]}
                rows = conn.execute(
                    "SELECT n.nspname, sum(pg_total_relation_size(c.oid))::bigint"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%s)"
                    " GROUP BY n.nspname",
                    [list(names)],
                ).fetchall()
                sizes.update({names[schema]: int(size or 0) for schema, size in rows})
    for url, placed in databases.items():
        names = {dbname: tenant.pk for tenant, dbname in placed}
        with psycopg.connect(admin_conninfo(url, "postgres"), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT datname, pg_database_size(datname) FROM pg_database"
                " WHERE datname = ANY(%s)",
                [list(names)],
            ).fetchall()
        sizes.update({names[dbname]: int(size) for dbname, size in rows})
    return sizes


def _pooled_sizes(conn, tenant_ids) -> dict:
    """Each tenant's rows of every pooled table times that table's bytes per live row."""
    wanted = set(tenant_ids)
    sizes: dict = defaultdict(int)
    for spec in placed_tables():
        table = sql.Identifier("public", spec.table)
        exists = conn.execute("SELECT to_regclass(%s)", [f"public.{spec.table}"]).fetchone()[0]
        if exists is None:
            continue
        counts = conn.execute(
            sql.SQL("SELECT tenant_id, count(*) FROM {} GROUP BY tenant_id").format(table)
        ).fetchall()
        total_rows = sum(n for _, n in counts)
        if not total_rows:
            continue
        total_bytes = conn.execute(
            "SELECT pg_total_relation_size(%s::regclass)", [f"public.{spec.table}"]
        ).fetchone()[0]
        per_row = total_bytes / total_rows
        for tenant_id, n in counts:
            if tenant_id in wanted:
                sizes[tenant_id] += round(n * per_row)
    return dict(sizes)


def human(size: int) -> str:
    """1536 → "1.5 kB" (powers of 1024, one decimal)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
