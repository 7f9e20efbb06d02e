"""Spare placements: schemas and databases built ahead, claimed by a sign-up with a rename.

Building a placement is DDL with a floor no query tuning removes: a schema clone
builds ~45 btree indexes (PostgreSQL fsyncs each one it builds) and `CREATE DATABASE`
copies and WAL-logs the template. A server keeps TENANT_SPARES of each ready instead,
at the code's migration state, with RLS, grants and owner like any placement; a
sign-up renames one to the tenant's name in one statement (tenants.backends.refill
builds them, off the request path). What holds:

* **Current only.** A spare's name carries the state it was built at
  (`spare_<state>_<random>`; databases `<main>_spare_<state><random>`): a claim
  only looks for the code's state, so a spare left from an older release is never
  handed out. `migrate_tenants` drops those; the refill builds current ones.
* **Unreachable until claimed.** A spare schema has no USAGE for the app and operator
  roles, a spare database no CONNECT for them nor for PUBLIC: the claim grants what
  a cold-built placement has, in the transaction that renames it.
* **Race-free.** A claim takes a transaction-level advisory lock on the spare's name
  (try-lock: a spare being claimed, built or dropped is skipped) and renames it in
  the same transaction; one that vanished meanwhile is skipped too. Two sign-ups
  never get one spare; a sign-up that finds none builds cold, as before.
* **Per server.** Schema spares live in the server's pool, database spares on the
  server, named after the main database: a tenant claims on the server its region
  chose, and one deployment never claims another's spares.
"""

from __future__ import annotations

import logging
import threading
import uuid

from django.conf import settings
from django.db import connections
from psycopg import sql

from tenants.database_config import APP_ROLE, OPERATOR_ROLE, OWNER_ROLE

logger = logging.getLogger("tenants.spares")

SCHEMA_PREFIX = "spare_"
# Advisory-lock key prefix: a spare's lock is hashtext(LOCK || its name).
LOCK = "saas.spare:"
_STATE_CHARS = 10


class NoSpare(Exception):
    """No spare of the code's state on that server (the claim builds cold)."""


def state() -> str:
    """The migration state spares are built at and claimed by (a prefix of code_state)."""
    from tenants.backends.migrate import code_state

    return code_state()[:_STATE_CHARS]


def wanted(mode: str) -> int:
    """How many spares of `mode` each server keeps (TENANT_SPARES; 0: none, no claim)."""
    return int(getattr(settings, "TENANT_SPARES", {}).get(mode, 0) or 0)


# --- names ------------------------------------------------------------------------------------


def schema_spare_name() -> str:
    return f"{SCHEMA_PREFIX}{state()}_{uuid.uuid4().hex[:12]}"


def database_spare_prefix(main: str | None = None) -> str:
    """`<main database>_spare_`, the main name shortened so a spare's name fits in 63."""
    main = main or connections["owner"].settings_dict["NAME"]
    return f"{main[: 63 - 7 - _STATE_CHARS - 12]}_spare_"


def database_spare_name() -> str:
    return f"{database_spare_prefix()}{state()}{uuid.uuid4().hex[:12]}"


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def schema_pattern(current: bool = True) -> str:
    return _like(SCHEMA_PREFIX + (f"{state()}_" if current else ""))


def database_pattern(current: bool = True) -> str:
    return _like(database_spare_prefix() + (state() if current else ""))


def is_current(name: str) -> bool:
    if name.startswith(SCHEMA_PREFIX):
        return name.startswith(f"{SCHEMA_PREFIX}{state()}_")
    return name.startswith(database_spare_prefix() + state())


# --- claim ------------------------------------------------------------------------------------

# Two messages, one transaction, no PL/pgSQL (a DO block cost ~2 ms more, most of it
# loading the language in the fresh connection): pick the oldest spare nobody else holds
# (the try-lock is taken row by row in the candidates' order, so only the one returned is
# held), then rename it and grant what a cold-built placement has, and commit.
_PICK = (
    "BEGIN; WITH candidates AS MATERIALIZED ("
    "SELECT {column} AS name FROM {catalog} WHERE {column} LIKE {pattern} ORDER BY oid) "
    "SELECT name FROM candidates WHERE pg_try_advisory_xact_lock(hashtext({lock} || name)) "
    "LIMIT 1"
)
_SCHEMA_CLAIM = (
    "ALTER SCHEMA {spare} RENAME TO {target}; GRANT USAGE ON SCHEMA {target} TO {app}, {op}"
)
_DATABASE_CLAIM = (
    "ALTER DATABASE {spare} RENAME TO {target}; "
    "GRANT CONNECT, TEMPORARY ON DATABASE {target} TO PUBLIC, {app}, {op}; "
    "GRANT CONNECT, CREATE ON DATABASE {target} TO {owner}"
)
# Tries before giving up on spares that vanish under the claim (each is rare: a spare is
# only dropped or renamed under its lock, which the pick skips).
_ATTEMPTS = 3


def _claim(conn, target: str, *, kind: str) -> bool:
    import psycopg

    schema = kind == "SCHEMA"
    pick = sql.SQL(_PICK).format(
        column=sql.Identifier("nspname" if schema else "datname"),
        catalog=sql.Identifier("pg_namespace" if schema else "pg_database"),
        pattern=sql.Literal(schema_pattern() if schema else database_pattern()),
        lock=sql.Literal(LOCK),
    )
    gone = (psycopg.errors.InvalidSchemaName, psycopg.errors.InvalidCatalogName)
    exists = (psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateDatabase)
    for _ in range(_ATTEMPTS):
        row = _last_result(conn.execute(pick.as_bytes(conn))).fetchone()
        if row is None:
            conn.execute(b"ROLLBACK")
            return False
        claim = sql.SQL(_SCHEMA_CLAIM if schema else _DATABASE_CLAIM).format(
            spare=sql.Identifier(row[0]),
            target=sql.Identifier(target),
            app=sql.Identifier(APP_ROLE),
            op=sql.Identifier(OPERATOR_ROLE),
            owner=sql.Identifier(OWNER_ROLE),
        )
        try:
            conn.execute(claim.as_bytes(conn) + b"; COMMIT")
        except (*gone, psycopg.errors.ObjectInUse):
            conn.execute(b"ROLLBACK")  # renamed or dropped meanwhile, or in use: the next
            continue
        except exists:
            conn.execute(b"ROLLBACK")
            return False  # the placement exists (a re-run): the complete path finishes it
        except BaseException:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute(b"ROLLBACK")
            raise
        return True
    return False


def _last_result(cursor):
    """The cursor on the last statement's result of a multi-statement message."""
    while cursor.nextset():
        pass
    return cursor


def claim_schema(conn, target: str) -> bool:
    """Rename a current spare schema of `conn`'s database (the server's pool) to `target`.

    `conn`: autocommit, as the owner role. False, with nothing changed, when the
    server keeps no spare schemas or has none left.
    """
    return wanted("schema") > 0 and _claim(conn, target, kind="SCHEMA")


def claim_database(conn, target: str) -> bool:
    """Rename a current spare database of `conn`'s server to `target` (`conn`: autocommit,
    administrative, not connected to a spare)."""
    return wanted("database") > 0 and _claim(conn, target, kind="DATABASE")


# --- what a server holds, dropping ------------------------------------------------------------


def _named(conn, query: str, pattern: str, current: bool | None) -> list[str]:
    names = [r[0] for r in conn.execute(query, [pattern])]
    return [n for n in names if current is None or is_current(n) == current]


def schema_spares(conn, *, current: bool | None = None) -> list[str]:
    """The spare schemas of `conn`'s database; current=True/False: of the code's state or not."""
    query = "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY oid"
    return _named(conn, query, schema_pattern(current=False), current)


def database_spares(conn, *, current: bool | None = None) -> list[str]:
    """The spare databases of this deployment on `conn`'s server (see schema_spares)."""
    query = "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid"
    return _named(conn, query, database_pattern(current=False), current)


def drop_schema_spare(conn, name: str) -> bool:
    """Drop a spare schema unless a claim holds it right now; True if it is gone."""
    lock = sql.SQL("BEGIN; SELECT pg_try_advisory_xact_lock(hashtext({} || {}))").format(
        sql.Literal(LOCK), sql.Literal(name)
    )
    if not _last_result(conn.execute(lock.as_bytes(conn))).fetchone()[0]:
        conn.execute(b"ROLLBACK")
        return False
    drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE; COMMIT").format(sql.Identifier(name))
    conn.execute(drop.as_bytes(conn))
    return True


def drop_database_spare(conn, name: str) -> bool:
    """Drop a spare database unless a claim or its build holds it; True if it is gone."""
    (locked,) = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext(%s || %s))", [LOCK, name]
    ).fetchone()
    if not locked:
        return False
    try:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s || %s))", [LOCK, name])
    return True


def withhold_schema(conn, name: str) -> str:
    """The statement that keeps the app and operator roles out of a spare schema."""
    return (
        sql.SQL("REVOKE USAGE ON SCHEMA {} FROM {}, {}")
        .format(sql.Identifier(name), sql.Identifier(APP_ROLE), sql.Identifier(OPERATOR_ROLE))
        .as_string(conn)
    )


def withhold_database(name: str) -> sql.Composed:
    """The statement that keeps every role but the owner out of a spare database."""
    return sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
        sql.Identifier(name)
    )


# --- refill after a claim ---------------------------------------------------------------------


def request_refill(server) -> None:
    """Queue the refill of `server`'s spares (Celery `tenants.spares_refill`), off this path.

    Published from a thread: a slow or down broker (connect timeout 1 s) never delays the
    sign-up; a refusal is logged, and beat refills every minute anyway. Nothing is queued
    without a broker (tasks would run in-process, on this path) or when
    TENANT_SPARES_REFILL_ON_CLAIM is off.
    """
    if not getattr(settings, "TENANT_SPARES_REFILL_ON_CLAIM", True):
        return
    from celery import current_app

    if current_app.conf.task_always_eager:
        return
    name = getattr(server, "name", None)

    def publish() -> None:
        try:
            current_app.send_task("tenants.spares_refill", kwargs={"server": name}, retry=False)
        except Exception as exc:
            logger.warning("spares refill not queued (%s)", exc.__class__.__name__)

    threading.Thread(target=publish, name="spares-refill-request", daemon=True).start()
