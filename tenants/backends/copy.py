"""Copying, checksumming and deleting one tenant's rows in a placement."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from psycopg import sql

from tenants.backends.placement import Placement


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: tuple[str, ...]
    key: str = "id"  # the primary key column (online moves replay rows by it)
    key_type: str = "uuid"


def _key_type(pk) -> str:
    kind = pk.get_internal_type()
    if kind == "UUIDField":
        return "uuid"
    if kind.endswith("AutoField") or kind.endswith("IntegerField"):
        return "bigint"
    return "text"


def placed_tables() -> list[TableSpec]:
    """Tenant-placed tables, parents before children (FK order)."""
    from tenants.models import TenantOwned

    models = [m for m in apps.get_models() if issubclass(m, TenantOwned) and m.tenant_placed]
    order: list = []
    visiting: set = set()

    def visit(model):
        if model in order or model in visiting:
            return
        visiting.add(model)
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if target in models and target is not model:
                visit(target)
        visiting.discard(model)
        order.append(model)

    for model in sorted(models, key=lambda m: m._meta.db_table):
        visit(model)
    return [
        TableSpec(
            m._meta.db_table,
            tuple(f.column for f in m._meta.concrete_fields),
            m._meta.pk.column,
            _key_type(m._meta.pk),
        )
        for m in order
    ]


def _cols(spec: TableSpec) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in spec.columns)


def copy_rows(src: Placement, dst: Placement, tenant_id) -> dict[str, int]:
    """Stream the tenant's rows from src to dst (binary COPY), one transaction on each side."""
    counts: dict[str, int] = {}
    with src.operator() as source, dst.operator() as target:
        source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")  # one snapshot
        target.execute("SET CONSTRAINTS ALL DEFERRED")
        for spec in placed_tables():
            select = sql.SQL(
                "COPY (SELECT {} FROM {} WHERE tenant_id = {}) TO STDOUT (FORMAT BINARY)"
            ).format(_cols(spec), sql.Identifier(spec.table), sql.Literal(tenant_id))
            insert = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(spec.table), _cols(spec)
            )
            with source.cursor().copy(select) as out, target.cursor().copy(insert) as into:
                for chunk in out:
                    into.write(chunk)
            counts[spec.table] = target.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
                    sql.Identifier(spec.table)
                ),
                [tenant_id],
            ).fetchone()[0]
        target.commit()
        source.rollback()
    return counts


def refresh_statistics(placement: Placement) -> None:
    """VACUUM (ANALYZE) the tables a copy has just filled in a tenant's own placement.

    Rows written by COPY leave a table with no planner statistics and an empty
    visibility map: until autovacuum comes by (if it runs at all), the tenant's queries
    are planned blind and index-only scans read the heap. Pooled tables are left to
    autovacuum: one tenant's rows barely move their statistics. As the owner (ANALYZE
    needs it), outside a transaction (VACUUM needs that).
    """
    if placement.pooled:
        return
    tables = sql.SQL(", ").join(sql.Identifier(spec.table) for spec in placed_tables())
    with placement.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(tables))


def checksums(placement: Placement, tenant_id) -> dict[str, tuple[int, str]]:
    """Per table: (row count, md5 over the rows in key order), in one snapshot."""
    with placement.operator() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        result = checksums_in(conn, tenant_id)
        conn.rollback()
    return result


def checksums_in(conn, tenant_id) -> dict[str, tuple[int, str]]:
    """checksums() on an open connection, in its current transaction (and snapshot)."""
    result = {}
    for spec in placed_tables():
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(md5(ROW({cols})::text), '' "
            "ORDER BY {order}::text)), '') FROM {table} WHERE tenant_id = %s"
        ).format(cols=_cols(spec), order=sql.Identifier(spec.key), table=sql.Identifier(spec.table))
        count, digest = conn.execute(query, [tenant_id]).fetchone()
        result[spec.table] = (count, digest)
    return result


def delete_tenant_rows(placement: Placement, tenant_id) -> dict[str, int]:
    """Remove the tenant's rows from a (pooled) placement, children first."""
    deleted = {}
    with placement.operator() as conn:
        conn.execute("SET CONSTRAINTS ALL DEFERRED")
        for spec in reversed(placed_tables()):
            cur = conn.execute(
                sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(spec.table)),
                [tenant_id],
            )
            deleted[spec.table] = cur.rowcount
        conn.commit()
    return deleted


def row_counts(placement: Placement, tenant_id) -> dict[str, int]:
    return {table: count for table, (count, _) in checksums(placement, tenant_id).items()}
