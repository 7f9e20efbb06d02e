"""django-tenants' own paths, timed: provisioning (TenantMixin + auto_create_schema) and
`migrate_schemas` across N schemas with nothing to apply and with one real migration.

Prints one line `DJTJSON {…}` for benchmarks.djt_runner. The N schemas are
made once and reused (marker table): one schema through django-tenants'
real path, rolled back to 0001, then copied N-1 times in SQL (tables with
LIKE … INCLUDING ALL, foreign keys, django_migrations/content type rows),
which is far faster than N migrate runs and gives migrate_schemas the same
per-schema state to inspect.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import uuid

import psycopg
from psycopg import sql

BASE = "djt_base"
VERSION = "2"


def _admin(dbname: str):
    import dj_database_url
    from psycopg.conninfo import make_conninfo

    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    return psycopg.connect(
        make_conninfo(
            dbname=dbname, user=cfg["USER"] or None, password=cfg["PASSWORD"] or None,
            host=cfg["HOST"] or None, port=str(cfg["PORT"]) if cfg["PORT"] else None,
        ),
        autocommit=True,
    )  # fmt: skip


def _log(msg: str) -> None:
    print(f"[djt {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _ensure_database(name: str) -> None:
    with _admin("postgres") as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _migrate(*args, **kwargs) -> float:
    from django.core.management import call_command

    start = time.perf_counter()
    call_command(
        "migrate_schemas", *args, interactive=False, verbosity=0, stdout=io.StringIO(), **kwargs
    )
    return time.perf_counter() - start


def _build(dbname: str, schemas: int) -> None:
    from benchmarks.djt.customers.models import Client

    with _admin(dbname) as c:
        old = [
            r[0]
            for r in c.execute(
                "SELECT schema_name FROM customers_client WHERE schema_name LIKE 'djt_%%'"
            )
        ]
        for s in old:
            c.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(s)))
        c.execute("DELETE FROM customers_domain")
        c.execute("DELETE FROM customers_client WHERE schema_name LIKE 'djt_%%'")
        c.execute("DELETE FROM bench_djt_marker")
    _log("creating the base schema through django-tenants …")
    Client(schema_name=BASE, name="base").save()
    _migrate("tenantapp", "0001", schema_name=BASE)
    with _admin(dbname) as c:
        tables = [r[0] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [BASE])]  # fmt: skip
        c.execute("SET search_path TO public")
        fks = c.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = %s::regnamespace",
            [BASE],
        ).fetchall()
        identity = c.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND is_identity = 'YES'",
            [BASE],
        ).fetchall()
        _log(f"copying it {schemas - 1} times ({len(tables)} tables) …")
        for i in range(1, schemas):
            name = f"djt_{i:05d}"
            ident = sql.Identifier(name)
            with c.transaction():
                c.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
                for t in tables:
                    src, dst = sql.Identifier(BASE, t), sql.Identifier(name, t)
                    c.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(dst, src))
                    c.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(dst, src))
                for rel, conname, definition in fks:
                    table = rel.split(".", 1)[1]
                    c.execute(
                        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                            sql.Identifier(name, table), sql.Identifier(conname)
                        )
                        + sql.SQL(definition.replace(f"{BASE}.", f"{name}."))
                    )
                for table, column in identity:  # LIKE makes fresh identity sequences: catch up
                    c.execute(
                        sql.SQL(
                            "SELECT setval(pg_get_serial_sequence({}, {}), coalesce(max({}), 0) + 1, false) FROM {}"
                        ).format(
                            sql.Literal(f'"{name}"."{table}"'),
                            sql.Literal(column),
                            sql.Identifier(column),
                            sql.Identifier(name, table),
                        )
                    )
                c.execute(
                    "INSERT INTO customers_client (schema_name, name, created_on) VALUES (%s, %s, now())",
                    [name, name],
                )
        c.execute("INSERT INTO bench_djt_marker VALUES (%s)", [f"{VERSION}:{schemas}"])


def _reset_to_0001(dbname: str) -> None:
    """Undo 0002 in every schema directly: drop the column, forget the migration."""
    with _admin(dbname) as c:
        schemas = [
            r[0]
            for r in c.execute(
                "SELECT schema_name FROM customers_client WHERE schema_name LIKE 'djt_%%'"
            )
        ]
        with c.transaction():
            for s in schemas:
                c.execute(
                    sql.SQL("ALTER TABLE {} DROP COLUMN IF EXISTS bench_note").format(
                        sql.Identifier(s, "tenantapp_project")
                    )
                )
                c.execute(
                    sql.SQL(
                        "DELETE FROM {} WHERE app = 'tenantapp' AND name = '0002_bench_note'"
                    ).format(sql.Identifier(s, "django_migrations"))
                )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schemas", type=int, required=True)
    parser.add_argument("--provision", type=int, required=True)
    args = parser.parse_args()
    dbname = os.environ.get("BENCH_DJT_DB", "bench_djt")
    _ensure_database(dbname)
    import django

    django.setup()
    _migrate(shared=True)
    with _admin(dbname) as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_djt_marker (version text PRIMARY KEY)")
        present = c.execute(
            "SELECT 1 FROM bench_djt_marker WHERE version = %s", [f"{VERSION}:{args.schemas}"]
        ).fetchone()
    if present:
        _log(f"{args.schemas} schemas present: reused")
    else:
        start = time.perf_counter()
        _build(dbname, args.schemas)
        _log(f"built {args.schemas} schemas in {time.perf_counter() - start:.0f}s")

    from benchmarks.djt.customers.models import Client

    # Provisioning: django-tenants' own path (schema + every tenant migration), median of N.
    samples = []
    Client(schema_name=f"djtp_warm_{uuid.uuid4().hex[:8]}", name="warm").save()
    for _ in range(args.provision):
        tenant = Client(schema_name=f"djtp_{uuid.uuid4().hex[:12]}", name="p")
        start = time.perf_counter()
        tenant.save()
        samples.append((time.perf_counter() - start) * 1000)
    for tenant in Client.objects.filter(schema_name__startswith="djtp_"):
        tenant.delete(force_drop=True)
    _log(f"provision median {statistics.median(samples):.0f} ms")

    _reset_to_0001(dbname)  # in case an earlier run stopped between the two
    # All N schemas are at 0001: apply 0002 (one nullable column), then run again with
    # nothing to apply, then put them back to 0001 (untimed, in SQL: a third migrate_schemas
    # pass would cost as much again) so the next run starts the same.
    count = Client.objects.exclude(schema_name="public").count()
    one = _migrate("tenantapp", "0002", tenant=True)
    _log(f"migrate_schemas one migration over {count} schemas: {one:.1f}s")
    noop = _migrate(tenant=True)
    _log(f"migrate_schemas nothing to apply: {noop:.1f}s")
    _reset_to_0001(dbname)
    print(
        "DJTJSON "
        + json.dumps(
            {
                "provision_ms_django_tenants": statistics.median(samples),
                "migrate_noop_s_django_tenants": noop,
                "migrate_one_s_django_tenants": one,
                "django_tenants_detail": {
                    "schemas": count,
                    "provision_n": len(samples),
                    "provision_ms_min": min(samples),
                    "provision_ms_max": max(samples),
                    "executor": "standard (sequential, django-tenants' default)",
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
